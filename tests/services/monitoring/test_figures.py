"""Figures read from the collections (how long the oldest due event has waited) and counters fed
by Stripe's events (payment intents by purpose and outcome, top-ups by the outcome they reached)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Database
from app.domain.money import Money
from app.services.webhooks import WebhookInbox
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.services.webhooks.support import deliver, inbox_for
from tests.stripe_events import new_id, stripe_event, stripe_object


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
async def services(database: Database, settings: Settings) -> AsyncIterator[Services]:
    provider = StripeAdapter(settings)
    yield build_services(database, settings, provider)
    await provider.close()


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_oldest_due_event_is_known_until_it_is_processed(
    services: Services, inbox: WebhookInbox
) -> None:
    assert await services.webhook_events.oldest_due_at() is None
    event = stripe_event("payment_intent.created", stripe_object("payment_intent", id=new_id("pi")))
    await deliver(inbox, event, PLATFORM_WEBHOOK_SECRET)

    waiting = await services.webhook_events.oldest_due_at()
    await services.webhook_processor.process_due()

    assert waiting is not None
    assert await services.webhook_events.oldest_due_at() is None


async def test_payment_intent_outcomes_are_counted_by_purpose_once_per_event(
    services: Services, inbox: WebhookInbox
) -> None:
    failed = counted("payments_payment_intents_total", purpose="wallet_topup", outcome="failed")
    other = counted("payments_payment_intents_total", purpose="other", outcome="succeeded")
    topup = await services.topups.request("buyer-m", Money(1_000, "usd"), "metrics")
    attempt = stripe_object(
        "payment_intent",
        id=topup.payment_intent_id,
        amount=1_000,
        currency="usd",
        status="requires_payment_method",
        metadata={"purpose": "wallet_topup", "topup_id": topup.id, "user_id": "buyer-m"},
    )
    foreign = stripe_object(
        "payment_intent", id=new_id("pi"), status="succeeded", metadata={"purpose": "x" * 300}
    )
    declined = stripe_event("payment_intent.payment_failed", attempt)
    for event in (declined, declined, stripe_event("payment_intent.succeeded", foreign)):
        await deliver(inbox, event, PLATFORM_WEBHOOK_SECRET)
    await services.webhook_processor.process_due()

    assert counted("payments_payment_intents_total", purpose="wallet_topup", outcome="failed") == failed + 1
    assert counted("payments_payment_intents_total", purpose="other", outcome="succeeded") == other + 1


async def test_a_topup_outcome_is_counted_when_the_topup_reaches_it(
    services: Services, inbox: WebhookInbox
) -> None:
    before = counted("payments_topups_total", outcome="failed")
    topup = await services.topups.request("buyer-n", Money(1_000, "usd"), "outcome")
    intent = stripe_object(
        "payment_intent",
        id=topup.payment_intent_id,
        amount=1_000,
        currency="usd",
        status="requires_payment_method",
        metadata={"purpose": "wallet_topup", "topup_id": topup.id, "user_id": "buyer-n"},
    )
    for _ in range(2):  # the second failure of a failed top-up moves nothing
        await deliver(inbox, stripe_event("payment_intent.payment_failed", intent), PLATFORM_WEBHOOK_SECRET)
    await services.webhook_processor.process_due()

    assert counted("payments_topups_total", outcome="failed") == before + 1
