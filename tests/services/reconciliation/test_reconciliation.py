"""Reconciliation against the emulator: a day of top-ups and fees reconciles with nothing found;
each seeded fault is found exactly once, with its kind, and a later run does not record it again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from app.container import Services
from app.db import Collections, Database
from app.domain.reconciliation import DiscrepancyStatus, RunStatus
from app.services.webhooks import WebhookInbox
from tests.services.reconciliation.support import (
    DAY_TOPUPS,
    credit_off_by_one_cent,
    credit_without_payment,
    discrepancies,
    handle_stripe_events,
    manual_credit,
    paid_intent_of_unknown_topup,
    reconcile,
)

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


async def test_a_day_of_topups_and_fees_reconciles_with_nothing_found(services: Services, day: None) -> None:
    run = await reconcile(services)

    assert run.status is RunStatus.SUCCEEDED
    assert (run.new_discrepancies, run.known_discrepancies) == (0, 0)
    paid = len(DAY_TOPUPS)
    assert run.counts["topups"].stripe_objects == run.counts["topups"].matched == paid
    assert run.counts["topups"].our_records == paid
    assert run.counts["stripe_fees"].matched == run.counts["stripe_fees"].our_records == paid
    assert run.counts["balance_transactions"].matched == paid
    assert run.counts["platform_balance"].matched == 1
    assert run.duration_ms is not None
    assert await discrepancies(services) == []
    assert await services.database[Collections.RECONCILIATION_MARKS].count_documents({}) == 0


async def pay_unknown_topup(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer
) -> dict[str, str]:
    intent = await paid_intent_of_unknown_topup(emulator, 1_500)
    await handle_stripe_events(services, inbox, emulator)
    return {"payment_intent": intent}


async def credit_a_ghost(services: Services, inbox: WebhookInbox, emulator: EmulatorServer) -> dict[str, str]:
    return {"payment_intent": await credit_without_payment(services)}


async def credit_one_cent_short(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer
) -> dict[str, str]:
    return {"payment_intent": await credit_off_by_one_cent(services, inbox, emulator)}


async def credit_by_hand(services: Services, inbox: WebhookInbox, emulator: EmulatorServer) -> dict[str, str]:
    await manual_credit(services)
    return {}


Fault = Callable[[Services, WebhookInbox, "EmulatorServer"], Awaitable[dict[str, str]]]
# Each fault, the one discrepancy it must give, and (expected, actual) as that kind states them.
FAULTS: dict[str, tuple[Fault, str, tuple[int | None, int | None] | None]] = {
    "a PaymentIntent without entry": (pay_unknown_topup, "topup_entry_missing", (None, 1_500)),
    "an entry without PaymentIntent": (credit_a_ghost, "topup_payment_missing", (700, None)),
    "an amount off by one cent": (credit_one_cent_short, "topup_amount_mismatch", (999, 1_000)),
    "a balance drift": (credit_by_hand, "platform_balance_drift", None),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_each_fault_is_found_once_with_its_kind_and_not_again_by_a_later_run(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, day: None, fault: str
) -> None:
    seed, kind, amounts = FAULTS[fault]
    stripe_ids = await seed(services, inbox, emulator)

    first = await reconcile(services)
    second = await reconcile(services)

    [found] = await discrepancies(services)
    assert (found.kind, found.status) == (kind, DiscrepancyStatus.OPEN)
    assert {name: found.stripe_ids[name] for name in stripe_ids} == stripe_ids
    if amounts is not None:
        assert (found.expected, found.actual) == amounts
    assert (first.new_discrepancies, first.known_discrepancies) == (1, 0)
    # Found again and known already: a drift too, the same amount measured again.
    assert (second.new_discrepancies, second.known_discrepancies, second.superseded_discrepancies) == (
        0,
        1,
        0,
    )
    assert (found.times_found, found.first_run_id, found.last_run_id) == (2, first.id, second.id)


async def test_every_fault_at_once_is_found_once_each(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, day: None
) -> None:
    for seed, _, _ in FAULTS.values():
        await seed(services, inbox, emulator)

    first = await reconcile(services)
    again = await reconcile(services)

    found = await discrepancies(services)
    assert sorted(d.kind for d in found) == sorted(kind for _, kind, _ in FAULTS.values())
    drift = next(d for d in found if d.kind == "platform_balance_drift")
    assert drift.balance_effect == -250  # only the credit typed by hand: the others explain the rest
    assert first.new_discrepancies == len(FAULTS)
    assert (again.new_discrepancies, again.known_discrepancies) == (0, len(FAULTS))


async def test_a_fee_filed_under_the_wrong_balance_transaction_is_missing_on_both_sides(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, day: None, database: Database
) -> None:
    fee = await database[Collections.JOURNAL_ENTRIES].find_one({"kind": "stripe_fee"})
    assert fee is not None
    await database[Collections.JOURNAL_ENTRIES].update_one({"_id": fee["_id"]}, {"$set": {"_id_moved": True}})
    copy = {
        **fee,
        "_id": "stripe_fee:txn_never_at_stripe",
        "refs": {**fee["refs"], "balance_transaction": "txn_never_at_stripe"},
    }
    await database[Collections.JOURNAL_ENTRIES].insert_one(copy)
    await database[Collections.JOURNAL_ENTRIES].delete_one({"_id": fee["_id"]})

    await reconcile(services)

    found = {d.kind: d for d in await discrepancies(services)}
    assert set(found) == {"stripe_fee_entry_missing", "stripe_fee_transaction_missing"}
    missing = found["stripe_fee_entry_missing"]
    assert missing.stripe_ids["balance_transaction"] == fee["refs"]["balance_transaction"]
    assert missing.balance_effect == -found["stripe_fee_transaction_missing"].balance_effect


async def test_a_refund_made_at_stripe_outside_the_service_is_found_and_explains_what_it_took(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, day: None
) -> None:
    [paid, *_] = [t for t in (await services.topups.page(None, 10, None)).data if t.status == "succeeded"]
    assert paid.payment_intent_id is not None
    refund = await emulator.stripe_client().v1.refunds.create_async(
        {"payment_intent": paid.payment_intent_id, "amount": 500}
    )

    await reconcile(services)

    [found] = await discrepancies(services)
    assert (found.kind, found.expected, found.actual) == ("refund_record_missing", None, 500)
    assert found.stripe_ids["refund"] == refund.id
    assert found.balance_effect == -500  # the platform balance's drift is explained by it


async def test_a_balance_transaction_no_check_claims_is_reported_and_its_money_as_drift(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, day: None
) -> None:
    await emulator.control_async("balance/settle")
    payout = await emulator.stripe_client().v1.payouts.create_async({"amount": 500, "currency": "usd"})

    await reconcile(services)

    found = {d.kind: d for d in await discrepancies(services)}
    assert set(found) == {"balance_transaction_unaccounted", "platform_balance_drift"}
    assert found["balance_transaction_unaccounted"].stripe_ids["source"] == payout.id
    assert found["balance_transaction_unaccounted"].balance_effect == 0
    assert found["platform_balance_drift"].balance_effect == -500
