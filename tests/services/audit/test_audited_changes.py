"""Every change audited today leaves exactly one record, in the change's own transaction, with
who made it and the object's state before and after."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.adapters.payment_provider import WebhookEvent
from app.auth import Role
from app.config import Settings
from app.container import Services
from app.db import Collections, Document
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.wallet import topup_entry_key
from app.domain.webhooks import Outcome
from app.routers.dependencies import get_webhook_processor
from app.services.migration import LegacyMigration
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TokenFactory, bearer, make_settings
from tests.legacy_wallets import insert_legacy_wallet
from tests.services.audit.support import audit_documents
from tests.services.webhooks.support import deliver, inbox_for, policy, processor
from tests.stripe_events import (
    account_updated,
    connected_account,
    new_id,
    signed_delivery,
    stripe_event,
    stripe_object,
)

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    # Stripe is the emulator: an account event's handler reads the account again from Stripe.
    return make_settings(mongodb_uri, webhook_worker_enabled=False, stripe_api_base=emulator.base_url)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def open_topup(services: Services, amount: int = 2000) -> str:
    topup_id = new_id("tu")
    await services.database[Collections.TOPUPS].insert_one(
        {
            "_id": topup_id,
            "user_id": "payer",
            "amount": amount,
            "currency": "usd",
            "status": "requires_payment",
        }
    )
    return topup_id


def intent_event(event_type: str, topup_id: str, intent_id: str, amount: int = 2000) -> dict[str, Any]:
    intent = stripe_object(
        "payment_intent",
        id=intent_id,
        amount=amount,
        amount_received=amount if event_type == "payment_intent.succeeded" else 0,
        currency="usd",
        metadata={"topup_id": topup_id, "user_id": "payer", "purpose": "wallet_topup"},
    )
    return stripe_event(event_type, intent)


async def deliver_and_process(client: httpx.AsyncClient, services: Services, *events: dict[str, Any]) -> None:
    for event in events:
        body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)
        assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200
    await services.webhook_processor.process_due(limit=50)


async def records_of(services: Services, object_type: str, object_id: str) -> list[Document]:
    return await audit_documents(services.database, **{"object.type": object_type, "object.id": object_id})


def change(record: Document) -> tuple[dict[str, str], str, Any, Any]:
    return record["actor"], record["action"], record["before"], record["after"]


async def test_a_credited_topup_is_audited_once_however_often_its_event_runs(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    topup_id, intent_id = await open_topup(services), new_id("pi")
    succeeded = intent_event("payment_intent.succeeded", topup_id, intent_id)

    await deliver_and_process(client, services, succeeded, succeeded)
    admin = bearer(token("admin-1", Role.ADMIN))
    assert (
        await client.post(f"/admin/webhook-events/{succeeded['id']}/replay", headers=admin)
    ).status_code == 200

    [record] = await records_of(services, "topup", topup_id)
    assert change(record) == (
        {"kind": "webhook", "id": succeeded["id"]},
        "topup.status_changed",
        {"status": "requires_payment"},
        {"status": "succeeded", "payment_intent_id": intent_id},
    )
    assert await services.ledger.balance(Accounts.buyer_wallet("payer"), "usd") == 2000


async def test_a_failed_then_canceled_topup_leaves_one_record_per_move(
    client: httpx.AsyncClient, services: Services
) -> None:
    topup_id, intent_id = await open_topup(services), new_id("pi")
    failed = intent_event("payment_intent.payment_failed", topup_id, intent_id)
    canceled = intent_event("payment_intent.canceled", topup_id, intent_id)

    await deliver_and_process(client, services, failed)
    await deliver_and_process(client, services, canceled, failed)

    records = sorted(await records_of(services, "topup", topup_id), key=lambda r: r["_id"])
    assert [change(r) for r in records] == [
        (
            {"kind": "webhook", "id": failed["id"]},
            "topup.status_changed",
            {"status": "requires_payment"},
            {"status": "failed", "payment_intent_id": intent_id},
        ),
        (
            {"kind": "webhook", "id": canceled["id"]},
            "topup.status_changed",
            {"status": "failed"},
            {"status": "canceled", "payment_intent_id": intent_id},
        ),
    ]


async def test_a_topup_paid_with_another_amount_goes_to_review_and_is_audited_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    topup_id, intent_id = await open_topup(services, amount=2000), new_id("pi")
    wrong = [intent_event("payment_intent.succeeded", topup_id, intent_id, amount=1999) for _ in range(2)]

    await deliver_and_process(client, services, *wrong)

    [record] = await records_of(services, "topup", topup_id)
    # The worker takes the two events in either order; whichever ran first moved the top-up.
    assert record["actor"] in [{"kind": "webhook", "id": event["id"]} for event in wrong]
    assert change(record)[1:] == (
        "topup.status_changed",
        {"status": "requires_payment"},
        {
            "status": "needs_review",
            "payment_intent_id": intent_id,
            "review_reason": "paid 1999 usd, expected 2000 usd",
        },
    )


async def test_a_credit_that_rolls_back_leaves_no_audit_record(
    client: httpx.AsyncClient, services: Services
) -> None:
    """The entry key is taken by another entry: the credit's transaction aborts, move and record too."""
    topup_id, intent_id = await open_topup(services), new_id("pi")
    squatter = Move(Accounts.CARD, Accounts.buyer_wallet("someone-else"), 1, "usd")
    await services.ledger.post(entry(topup_entry_key(intent_id), EntryKind.TOPUP, [squatter]))

    await deliver_and_process(client, services, intent_event("payment_intent.succeeded", topup_id, intent_id))

    assert (await services.topups.get(topup_id)).status == "requires_payment"
    assert await records_of(services, "topup", topup_id) == []


async def test_a_legacy_wallet_migration_is_audited_once_with_the_legacy_balance_as_text(
    services: Services,
) -> None:
    await insert_legacy_wallet(services.database, "u1", 12.2 + 0.1 + 0.2)  # 12.499999999999998

    await asyncio.gather(*(services.migration.migrate_user("u1", Actor.user("u1")) for _ in range(5)))

    [record] = await records_of(services, "legacy_wallet", "u1")
    assert change(record) == (
        {"kind": "user", "id": "u1"},
        "legacy_wallet.migrated",
        {"legacy_balance": "12.499999999999998", "currency": "usd", "migrated": False},
        {"legacy_balance": "0", "migrated": True, "migrated_amount": 1250, "normalized": True},
    )


async def test_legacy_money_credited_after_the_migration_is_audited_once_as_a_late_migration(
    services: Services,
) -> None:
    await insert_legacy_wallet(services.database, "u2", "10.00")
    await services.migration.migrate_user("u2", Actor.user("u2"))
    # The legacy system, still running, refunds 2.50 to the zeroed document.
    await services.database["wallets"].update_one({"userId": "u2"}, {"$set": {"balance": "2.50"}})
    migration = LegacyMigration(
        services.database,
        services.ledger,
        LegacyWalletBridge(services.database, services.settings),
        services.audit_log,
        platform_currency="usd",
        recheck=timedelta(0),  # this process remembers nothing: the refund is seen at once
    )

    await asyncio.gather(*(migration.migrate_user("u2", Actor.user("u2")) for _ in range(5)))

    records = sorted(await records_of(services, "legacy_wallet", "u2"), key=lambda r: r["_id"])
    assert [r["action"] for r in records] == ["legacy_wallet.migrated", "legacy_wallet.late_migrated"]
    assert change(records[1]) == (
        {"kind": "user", "id": "u2"},
        "legacy_wallet.late_migrated",
        {"legacy_balance": "2.50", "currency": "usd", "migrated_amount": 1000},
        {
            "legacy_balance": "0",
            "migrated_amount": 1250,
            "late_migration": 1,
            "late_amount": 250,
            "entry": "migration:u2:late:1",
        },
    )


async def test_a_user_without_a_legacy_wallet_leaves_no_migration_record(services: Services) -> None:
    await services.migration.migrate_user("nobody", Actor.user("nobody"))
    assert await audit_documents(services.database) == []


async def test_an_admin_replay_is_audited_with_the_admin_and_the_request_id(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, emulator: EmulatorServer
) -> None:
    created = await emulator.stripe_client().v1.accounts.create_async({"type": "express", "country": "US"})
    receipt = await deliver(
        inbox_for(services.database, services.settings), account_updated(connected_account(created.id))
    )
    await services.webhook_processor.process_due()

    response = await client.post(
        f"/admin/webhook-events/{receipt.event_id}/replay", headers=bearer(token("admin-7", Role.ADMIN))
    )

    assert response.status_code == 200, response.text
    [record] = await records_of(services, "webhook_event", receipt.event_id)
    assert change(record) == (
        {"kind": "admin", "id": "admin-7"},
        "webhook_event.replayed",
        {"status": "processed", "attempts": 1},
        {"status": "processing", "attempts": 2},
    )
    assert record["request_id"] == response.headers["x-request-id"]


async def test_a_replay_refused_while_the_event_is_held_is_not_audited(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    receipt = await deliver(
        inbox_for(services.database, services.settings), account_updated(connected_account())
    )
    held_until = datetime.now(UTC) + timedelta(minutes=1)
    await services.database[Collections.WEBHOOK_EVENTS].update_one(
        {"_id": receipt.event_id}, {"$set": {"status": "processing", "claim_expires_at": held_until}}
    )

    response = await client.post(
        f"/admin/webhook-events/{receipt.event_id}/replay", headers=bearer(token("admin-7", Role.ADMIN))
    )

    assert response.status_code == 409
    assert await audit_documents(services.database) == []


async def test_each_dead_lettering_is_audited_once_with_its_last_error(
    app: FastAPI, client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    async def broken(event: WebhookEvent) -> None:
        raise RuntimeError("the handler has a bug")

    worker = processor(services.database, {"account.updated": broken}, retry=policy(max_attempts=2))
    receipt = await deliver(
        inbox_for(services.database, services.settings), account_updated(connected_account())
    )

    # A pass ends once it finds fewer events due than a batch: the retry is the next pass's.
    outcomes = [*await worker.process_due(), *await worker.process_due()]
    app.dependency_overrides[get_webhook_processor] = lambda: worker
    replay = await client.post(
        f"/admin/webhook-events/{receipt.event_id}/replay", headers=bearer(token("admin-1", Role.ADMIN))
    )

    assert [o.outcome for o in outcomes] == [Outcome.RETRY_SCHEDULED, Outcome.DEAD_LETTERED]
    assert replay.json()["outcome"] == "dead_lettered"
    records = await records_of(services, "webhook_event", receipt.event_id)
    dead_letters = sorted(
        (r for r in records if r["action"] == "webhook_event.dead_lettered"), key=lambda r: r["_id"]
    )
    assert [change(r) for r in dead_letters] == [
        (
            {"kind": "job", "id": f"webhook_processor/{worker.worker_id}"},
            "webhook_event.dead_lettered",
            {"status": "processing", "attempts": attempts},
            {
                "status": "dead_letter",
                "attempts": attempts,
                "last_error": "RuntimeError: the handler has a bug",
            },
        )
        for attempts in (2, 3)
    ]
    assert [r["action"] for r in records].count("webhook_event.replayed") == 1
