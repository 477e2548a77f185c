"""Stripe's fees in the ledger: a top-up of 100.00 through the emulator costs the platform 3.20,
recorded once from whichever event brings the charge's balance transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.domain.money import Money
from app.domain.stripe_fees import stripe_fee_key
from app.services.wallet import Topup
from app.services.webhooks import WebhookInbox
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.money_invariants import assert_money_invariants
from tests.services.webhooks.support import deliver, inbox_for

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

TOPUP = 10_000
FEE = 320  # 2.9 % + 30, Stripe's US card fee
OPERATOR = Actor.from_roles("admin-1", ["admin"])


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


@pytest.fixture
async def settlement(request: pytest.FixtureRequest, emulator: EmulatorServer) -> AsyncIterator[str]:
    """The emulator settles card charges as the test's parameter says, deferred again afterwards."""
    await emulator.control_async("config", settlement=request.param, processing_delay_seconds=None)
    yield request.param
    await emulator.control_async("config", settlement="deferred", processing_delay_seconds=1.0)


async def paid_topup(services: Services, emulator: EmulatorServer) -> Topup:
    topup = await services.topups.request("buyer-f", Money(TOPUP, "usd"), "fee-topup")
    await emulator.control_async(f"payment_intents/{topup.payment_intent_id}/succeed")
    return topup


def stripe_events(emulator: EmulatorServer, *types: str) -> list[dict[str, Any]]:
    """The platform's events of `types`, oldest first."""
    return [event for event in reversed(emulator.events()) if event["type"] in types]


async def deliver_and_process(services: Services, inbox: WebhookInbox, events: list[dict[str, Any]]) -> None:
    for event in events:
        await deliver(inbox, event, PLATFORM_WEBHOOK_SECRET)
    await services.webhook_processor.process_due()


async def assert_fee_booked_once(services: Services, database: Database) -> None:
    ledger = services.ledger
    assert await ledger.balance(Accounts.buyer_wallet("buyer-f"), "usd") == TOPUP
    assert await ledger.balance(Accounts.PLATFORM_FEES, "usd") == -FEE
    assert await ledger.balance(Accounts.STRIPE_FEES, "usd") == FEE
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "stripe_fee"}) == 1


@pytest.mark.parametrize("settlement", ["immediate", "deferred"], indirect=True)
async def test_a_topup_of_10000_credits_10000_and_books_the_fee_of_320(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, database: Database, settlement: str
) -> None:
    await paid_topup(services, emulator)
    await deliver_and_process(
        services, inbox, stripe_events(emulator, "charge.succeeded", "payment_intent.succeeded")
    )
    booked_at_payment = await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "stripe_fee"})
    assert booked_at_payment == (1 if settlement == "immediate" else 0)

    await emulator.control_async("clock/advance", seconds=0)  # Stripe's late balance transaction, if any
    await deliver_and_process(services, inbox, stripe_events(emulator, "charge.updated"))

    await assert_fee_booked_once(services, database)
    await assert_money_invariants(database, services.provider)


@pytest.mark.parametrize("settlement", ["deferred"], indirect=True)
async def test_a_repeated_or_early_charge_updated_books_the_fee_once(
    services: Services, inbox: WebhookInbox, emulator: EmulatorServer, database: Database, settlement: str
) -> None:
    topup = await paid_topup(services, emulator)
    await emulator.control_async("clock/advance", seconds=0)
    [updated] = stripe_events(emulator, "charge.updated")
    [succeeded] = stripe_events(emulator, "payment_intent.succeeded")

    await deliver_and_process(services, inbox, [updated])  # before the payment's own event
    await deliver_and_process(services, inbox, [succeeded])
    await services.webhook_processor.replay(updated["id"], OPERATOR)
    await services.webhook_processor.replay(succeeded["id"], OPERATOR)

    await assert_fee_booked_once(services, database)
    fee = await services.ledger.entry(stripe_fee_key(updated["data"]["object"]["balance_transaction"]))
    assert fee is not None
    assert fee.refs["payment_intent"] == topup.payment_intent_id
    await assert_money_invariants(database, services.provider)
