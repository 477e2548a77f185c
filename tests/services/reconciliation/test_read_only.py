"""A reconciliation run is read-only towards Stripe and the ledger: it changes nothing but its
own records (the run, the discrepancies, and its marks, gone when it ends), and the audit record of
a drift it supersedes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY

from app.container import Services
from app.db import Collections, Database
from app.services.webhooks import WebhookInbox
from tests.command_log import CommandLog
from tests.services.reconciliation.support import (
    credit_off_by_one_cent,
    credit_without_payment,
    earlier,
    manual_credit,
    paid_intent_of_unknown_topup,
    reconcile,
    stripe_client,
)

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

OWN_RECORDS = {Collections.RECONCILIATION_RUNS, Collections.DISCREPANCIES, Collections.RECONCILIATION_MARKS}
AUDITED = {Collections.AUDIT_PENDING}
WRITES = {"insert", "update", "delete", "findAndModify", "bulkWrite", "create", "createIndexes", "drop"}


async def stored_books(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection but reconciliation's own."""
    names = set(await database.db.list_collection_names()) - OWN_RECORDS
    return {name: await database[name].find().sort("_id", 1).to_list() for name in sorted(names)}


async def stripe_state(emulator: EmulatorServer) -> dict[str, Any]:
    client = stripe_client(emulator)
    intents = await client.v1.payment_intents.list_async({"limit": 100})
    transactions = await client.v1.balance_transactions.list_async({"limit": 100})
    return {
        "events": [event["id"] for event in (await emulator.inspect_async("events"))["data"]],
        "balance": (await client.v1.balance.retrieve_async()).to_dict(),
        "payment_intents": [intent.to_dict() async for intent in intents.auto_paging_iter()],
        "balance_transactions": [txn.to_dict() async for txn in transactions.auto_paging_iter()],
    }


def stripe_calls() -> dict[str, float]:
    return {
        sample.labels["method"] + "/" + sample.labels["outcome"]: sample.value
        for metric in REGISTRY.collect()
        if metric.name == "payments_stripe_api_calls"
        for sample in metric.samples
        if sample.name == "payments_stripe_api_calls_total"
    }


async def test_a_run_changes_nothing_but_its_own_records(
    services: Services,
    inbox: WebhookInbox,
    emulator: EmulatorServer,
    day: None,
    database: Database,
    command_log: CommandLog,
) -> None:
    await paid_intent_of_unknown_topup(emulator, 1_500)
    await credit_without_payment(services)
    await credit_off_by_one_cent(services, inbox, emulator)
    await manual_credit(services)
    books, at_stripe, calls = await stored_books(database), await stripe_state(emulator), stripe_calls()

    with command_log.recording(database.db.name) as commands:
        run = await reconcile(services)

    assert run.new_discrepancies == 4
    written = {command.collection for command in commands if command.name in WRITES}
    assert written <= OWN_RECORDS, f"the run wrote to {written - OWN_RECORDS}"
    assert await stored_books(database) == books
    assert await stripe_state(emulator) == at_stripe
    called = {name for name, count in stripe_calls().items() if count != calls.get(name, 0)}
    assert called, "the run read Stripe"
    assert all(name.split("/")[0].endswith((".list", ".retrieve")) for name in called), called
    assert await database[Collections.RECONCILIATION_MARKS].count_documents({}) == 0


async def test_a_run_superseding_a_drift_writes_its_audit_record_and_nothing_else(
    services: Services, day: None, database: Database, command_log: CommandLog
) -> None:
    await credit_without_payment(services)
    await reconcile(services, earlier())  # sees the credit as drift only
    books = {
        name: documents for name, documents in (await stored_books(database)).items() if name not in AUDITED
    }

    with command_log.recording(database.db.name) as commands:
        run = await reconcile(services)

    assert (run.new_discrepancies, run.superseded_discrepancies) == (1, 1)
    written = {command.collection for command in commands if command.name in WRITES}
    assert written == OWN_RECORDS | AUDITED, f"the run wrote to {written}"
    after = await stored_books(database)
    assert {name: documents for name, documents in after.items() if name not in AUDITED} == books
