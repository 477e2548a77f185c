"""Top-up webhooks: matching amounts only, exactly once, in any order."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.container import Services
from app.db import Collections
from app.domain.ledger import Accounts
from tests.command_log import CommandLog
from tests.conftest import PLATFORM_WEBHOOK_SECRET, make_settings
from tests.stripe_events import new_id, signed_delivery, stripe_event, stripe_object


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    return make_settings(mongodb_uri, webhook_worker_enabled=False)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def open_topup(services: Services, amount: int = 2000) -> dict[str, Any]:
    topup = {
        "_id": new_id("tu"),
        "user_id": "payer",
        "amount": amount,
        "currency": "usd",
        "status": "requires_payment",
    }
    await services.database[Collections.TOPUPS].insert_one(topup)
    return topup


def intent_event(
    event_type: str, topup: dict[str, Any], *, amount: int, created: int, intent_id: str
) -> dict[str, Any]:
    intent = stripe_object(
        "payment_intent",
        id=intent_id,
        amount=amount,
        amount_received=amount if event_type == "payment_intent.succeeded" else 0,
        currency="usd",
        metadata={"topup_id": topup["_id"], "user_id": topup["user_id"], "purpose": "wallet_topup"},
    )
    return stripe_event(event_type, intent, created=created)


async def deliver_and_process(client: httpx.AsyncClient, app: FastAPI, *events: dict[str, Any]) -> None:
    for event in events:
        body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)
        assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200
    services: Services = app.state.services
    await services.webhook_processor.process_due(limit=50)


async def test_a_succeeded_intent_for_another_amount_is_flagged_not_credited(
    client: httpx.AsyncClient, app: FastAPI, services: Services
) -> None:
    topup = await open_topup(services, amount=2000)
    await deliver_and_process(
        client,
        app,
        intent_event("payment_intent.succeeded", topup, amount=1999, created=100, intent_id=new_id("pi")),
    )

    stored = await services.topups.get(topup["_id"])
    assert stored.status == "needs_review"
    assert "1999" in (stored.review_reason or "")
    assert await services.ledger.balance(Accounts.buyer_wallet("payer"), "usd") == 0
    assert await services.topups.pending_amount("payer", "usd") == 0


async def test_a_failure_arriving_after_the_success_leaves_the_credit(
    client: httpx.AsyncClient, app: FastAPI, services: Services
) -> None:
    topup = await open_topup(services)
    intent_id = new_id("pi")
    succeeded = intent_event("payment_intent.succeeded", topup, amount=2000, created=200, intent_id=intent_id)
    failed = intent_event(
        "payment_intent.payment_failed", topup, amount=2000, created=100, intent_id=intent_id
    )

    await deliver_and_process(client, app, succeeded, failed, succeeded)

    assert (await services.topups.get(topup["_id"])).status == "succeeded"
    assert await services.ledger.balance(Accounts.buyer_wallet("payer"), "usd") == 2000


async def test_a_success_after_a_failed_attempt_is_credited(
    client: httpx.AsyncClient, app: FastAPI, services: Services
) -> None:
    """A declined card leaves the PaymentIntent open; a second card may still pay it."""
    topup = await open_topup(services)
    intent_id = new_id("pi")
    await deliver_and_process(
        client,
        app,
        intent_event("payment_intent.payment_failed", topup, amount=2000, created=100, intent_id=intent_id),
    )
    assert (await services.topups.get(topup["_id"])).status == "failed"

    await deliver_and_process(
        client,
        app,
        intent_event("payment_intent.succeeded", topup, amount=2000, created=200, intent_id=intent_id),
    )

    assert (await services.topups.get(topup["_id"])).status == "succeeded"
    assert await services.ledger.balance(Accounts.buyer_wallet("payer"), "usd") == 2000


async def test_intents_that_are_not_topups_are_left_alone(
    client: httpx.AsyncClient, app: FastAPI, services: Services
) -> None:
    checkout = stripe_object(
        "payment_intent", id=new_id("pi"), amount=500, currency="usd", metadata={"order_id": "o1"}
    )
    await deliver_and_process(client, app, stripe_event("payment_intent.succeeded", checkout))
    assert await services.database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0


async def test_crediting_a_topup_costs_at_most_five_commands_claim_included(
    client: httpx.AsyncClient, app: FastAPI, services: Services, command_log: CommandLog
) -> None:
    topups = [await open_topup(services) for _ in range(16)]
    for topup in topups:
        succeeded = intent_event(
            "payment_intent.succeeded", topup, amount=2000, created=100, intent_id=new_id("pi")
        )
        body, headers = signed_delivery(succeeded, PLATFORM_WEBHOOK_SECRET)
        assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200

    with command_log.recording(services.settings.mongodb_database) as commands:
        outcomes = await services.webhook_processor.process_due(limit=len(topups))

    assert len(outcomes) == len(topups)
    assert len(commands) / len(topups) <= 5, [(c.name, c.collection) for c in commands]
    credits = [(c.name, c.collection) for c in commands if c.collection != "webhook_events"]
    assert credits == [
        ("update", "topups"),
        ("find", "ledger_accounts"),
        # the entry, the balance, its posting and the move's audit record
        ("bulkWrite", "journal_entries+ledger_accounts+ledger_postings+audit_pending"),
        ("commitTransaction", None),
    ] * len(topups)
    assert await services.ledger.balance(Accounts.buyer_wallet("payer"), "usd") == 2000 * len(topups)
