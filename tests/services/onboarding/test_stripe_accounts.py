"""The mirror of connected accounts: whatever the events say and in whatever order they arrive,
it ends as Stripe has the account (re-read through the adapter from the emulator)."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import build_services
from app.db import Database
from app.domain.audit import Actor
from app.domain.webhooks import Outcome
from app.services.onboarding import SellerAccountConflict, StripeAccounts
from app.services.onboarding.repository import StripeAccountRepository
from app.services.onboarding.service import account_snapshot
from app.services.webhooks import WebhookInbox, WebhookProcessor
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.services.webhooks.support import deliver, inbox_for
from tests.stripe_events import JsonObject, account_updated, stripe_event, stripe_object

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

NOW = int(time.time())


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[StripeAdapter]:
    adapter = StripeAdapter(settings)
    yield adapter
    await adapter.close()


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


@pytest.fixture
def worker(database: Database, settings: Settings, provider: StripeAdapter) -> WebhookProcessor:
    """The service's own processor, with every handler the composition root registers."""
    return build_services(database, settings, provider).webhook_processor


@pytest.fixture
def accounts(database: Database, provider: StripeAdapter) -> StripeAccounts:
    return StripeAccounts(database, provider)


async def new_account(provider: StripeAdapter, seller_id: str) -> str:
    account = await provider.create_connected_account(
        seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
    )
    return account.id


async def as_stripe_has_it(emulator: EmulatorServer, account_id: str) -> JsonObject:
    account = await emulator.stripe_client().v1.accounts.retrieve_async(account_id)
    snapshot: JsonObject = account.to_dict()
    return snapshot


async def test_account_updated_stores_the_account_as_stripe_has_it_not_as_the_event_says(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
) -> None:
    account_id = await new_account(provider, "seller-1")
    claimed = await as_stripe_has_it(emulator, account_id) | {
        "charges_enabled": True,
        "payouts_enabled": True,
    }
    event = account_updated(claimed, created=NOW)
    await deliver(inbox, event)

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    snapshot = await accounts.get(account_id)
    assert snapshot is not None
    assert snapshot.seller_id == "seller-1"
    assert (snapshot.charges_enabled, snapshot.payouts_enabled, snapshot.details_submitted) == (
        False,
        False,
        False,
    )
    assert snapshot.requirements.currently_due
    assert (snapshot.last_event_id, snapshot.last_event_created) == (
        event["id"],
        datetime.fromtimestamp(NOW, UTC),
    )
    assert snapshot.deauthorized is False


async def test_events_of_the_same_second_in_any_order_end_in_stripes_latest_state(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
) -> None:
    """Onboarding sends several `account.updated` within one second; their random ids say
    nothing of their order. Here the older state has the larger id."""
    for order in itertools.permutations(range(3)):
        account_id = await new_account(provider, f"seller-{''.join(map(str, order))}")
        unverified = await as_stripe_has_it(emulator, account_id)
        await emulator.control_async(f"accounts/{account_id}/verify")
        verified = await as_stripe_has_it(emulator, account_id)
        events = [
            account_updated(unverified, created=NOW - 10),
            account_updated(verified, created=NOW, event_id=f"evt_0_{account_id}"),
            account_updated(unverified, created=NOW, event_id=f"evt_z_{account_id}"),
        ]
        for index in order:
            await deliver(inbox, events[index])
            await worker.process_due()

        snapshot = await accounts.get(account_id)
        assert snapshot is not None
        assert (snapshot.charges_enabled, snapshot.payouts_enabled) == (True, True), order
        assert snapshot.capabilities["transfers"] == "active"


async def test_a_read_that_started_earlier_never_overwrites_a_later_one(
    database: Database, provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    """Two handlers racing: the slow one read before the account was verified, and stores last."""
    repository = StripeAccountRepository(database)
    account_id = await new_account(provider, "seller-race")
    slow_ticket = await repository.reserve_read(account_id)
    slow_read = account_snapshot(await provider.retrieve_account(account_id))
    await emulator.control_async(f"accounts/{account_id}/verify")
    fast_ticket = await repository.reserve_read(account_id)
    fast_read = account_snapshot(await provider.retrieve_account(account_id))

    assert await repository.store_snapshot(account_id, fast_read, fast_ticket, "evt_fast", datetime.now(UTC))
    assert not await repository.store_snapshot(
        account_id, slow_read, slow_ticket, "evt_slow", datetime.now(UTC)
    )

    stored = await repository.get(account_id)
    assert stored is not None
    assert (stored.charges_enabled, stored.last_event_id) == (True, "evt_fast")


async def test_deauthorization_is_recorded_once_and_survives_later_updates(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
) -> None:
    account_id = await new_account(provider, "seller-gone")
    application = stripe_object("application", id="ca_platform", name="Marketplace")
    deauthorized = stripe_event(
        "account.application.deauthorized", application, account=account_id, created=NOW
    )
    await deliver(inbox, account_updated(await as_stripe_has_it(emulator, account_id), created=NOW - 30))
    await deliver(inbox, deauthorized)
    await worker.process_due()
    await worker.replay(deauthorized["id"], Actor.from_roles("admin-1", ["admin"]))
    await deliver(inbox, account_updated(await as_stripe_has_it(emulator, account_id), created=NOW - 60))
    await worker.process_due()

    snapshot = await accounts.get(account_id)
    assert snapshot is not None
    assert snapshot.deauthorized is True
    assert snapshot.deauthorized_at == datetime.fromtimestamp(NOW, UTC)


async def test_a_second_account_claiming_the_same_seller_is_a_conflict(
    accounts: StripeAccounts, provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    first = await new_account(provider, "seller-9")
    second = (
        await emulator.stripe_client().v1.accounts.create_async(
            {"type": "express", "country": "US", "metadata": {"seller_id": "seller-9"}}
        )
    ).id
    assert await accounts.refresh(first, "evt_1", datetime.now(UTC))

    with pytest.raises(SellerAccountConflict):
        await accounts.refresh(second, "evt_2", datetime.now(UTC))


async def test_the_platforms_own_account_updated_is_not_a_connected_account(
    database: Database, accounts: StripeAccounts, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    platform_account: dict[str, Any] = stripe_object("account", id="acct_platform")
    await deliver(inbox, stripe_event("account.updated", platform_account), PLATFORM_WEBHOOK_SECRET)

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    assert await accounts.get(platform_account["id"]) is None
