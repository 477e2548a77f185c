"""The mirror of connected accounts and the seller's standing derived from it: whatever the events
say and in whatever order they arrive, it ends as Stripe has the account (re-read through the
adapter from the emulator); each change of standing is audited once and signalled once."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Database
from app.domain.audit import Actor
from app.domain.onboarding import SellerStatus, assess
from app.domain.webhooks import Outcome
from app.services.onboarding import STATUS_CHANGED, SellerAccountConflict, StripeAccounts, TransferSignal
from app.services.onboarding.accounts import account_snapshot
from app.services.onboarding.repository import AccountRead, Derived, StripeAccountRepository
from app.services.webhooks import WebhookInbox, WebhookProcessor
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.services.audit.support import audit_documents
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
def services(database: Database, settings: Settings, provider: StripeAdapter) -> Services:
    """The composition root's services, with every webhook handler it registers."""
    return build_services(database, settings, provider)


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


@pytest.fixture
def worker(services: Services) -> WebhookProcessor:
    return services.webhook_processor


@pytest.fixture
def accounts(services: Services) -> StripeAccounts:
    return services.stripe_accounts


@pytest.fixture
def signals(accounts: StripeAccounts) -> list[TransferSignal]:
    """Every signal the accounts publish, as a listener the composition root registers gets them."""
    received: list[TransferSignal] = []

    async def listener(signal: TransferSignal) -> None:
        received.append(signal)

    accounts.on_transfers_changed(listener)
    return received


async def new_account(provider: StripeAdapter, seller_id: str) -> str:
    account = await provider.create_connected_account(
        seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
    )
    return account.id


async def as_stripe_has_it(emulator: EmulatorServer, account_id: str) -> JsonObject:
    account = await emulator.stripe_client().v1.accounts.retrieve_async(account_id)
    snapshot: JsonObject = account.to_dict()
    return snapshot


async def status_changes(database: Database, account_id: str) -> list[tuple[Any, Any, Any]]:
    records = await audit_documents(database, action=STATUS_CHANGED, **{"object.id": account_id})
    return [(r["actor"]["kind"], r["before"], r["after"]) for r in records]


def standing(status: SellerStatus, can_receive: bool, reason: str | None) -> dict[str, Any]:
    return {"status": str(status), "can_receive_transfers": can_receive, "status_reason": reason}


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
    account = await accounts.get(account_id)
    assert account is not None
    assert account.snapshot is not None
    assert account.seller_id == "seller-1"
    snapshot = account.snapshot
    assert (snapshot.charges_enabled, snapshot.payouts_enabled, snapshot.details_submitted) == (
        False,
        False,
        False,
    )
    assert snapshot.requirements.currently_due
    assert (account.status, account.can_receive_transfers) == (SellerStatus.ONBOARDING, False)
    assert (account.last_event_id, account.last_event_created) == (
        event["id"],
        datetime.fromtimestamp(NOW, UTC),
    )
    assert account.deauthorized is False


async def test_events_of_the_same_second_in_any_order_end_in_stripes_latest_state(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
    database: Database,
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

        account = await accounts.get(account_id)
        assert account is not None
        assert account.snapshot is not None
        assert (account.snapshot.charges_enabled, account.snapshot.payouts_enabled) == (True, True), order
        assert account.snapshot.capabilities["transfers"] == "active"
        assert (account.status, account.verification().progress) == (SellerStatus.ACTIVE, 100)
        # Every read found the verified account: one change, from nothing to active.
        assert [after["status"] for _, _, after in await status_changes(database, account_id)] == ["active"]


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

    async def store(snapshot: Any, ticket: int, event_id: str) -> bool:
        read = AccountRead(snapshot, "seller-race", None, event_id, datetime.now(UTC))
        derived = Derived(assess(snapshot), frozenset())
        return await database.transaction(
            lambda session: repository.store_read(session, account_id, read, derived, ticket, new=False)
        )

    assert await store(fast_read, fast_ticket, "evt_fast")
    assert not await store(slow_read, slow_ticket, "evt_slow")

    stored = await repository.get(account_id)
    assert stored is not None
    assert stored.snapshot is not None
    assert (stored.snapshot.charges_enabled, stored.last_event_id) == (True, "evt_fast")


async def test_each_change_of_standing_is_audited_once_with_before_and_after_and_signalled_once(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    database: Database,
    signals: list[TransferSignal],
) -> None:
    account_id = await new_account(provider, "seller-moves")
    admin = Actor.from_roles("admin-1", ["admin"])
    await accounts.refresh(account_id, Actor.webhook("evt_1"))
    await emulator.control_async(f"accounts/{account_id}/verify")
    await accounts.refresh(account_id, Actor.webhook("evt_2"))
    await accounts.refresh(account_id, Actor.webhook("evt_3"))  # nothing changed at Stripe
    await emulator.control_async(f"accounts/{account_id}/restrict")
    await accounts.refresh(account_id, admin)

    assert await status_changes(database, account_id) == [
        (
            "webhook",
            standing(SellerStatus.NOT_STARTED, False, None),
            {
                **standing(SellerStatus.ONBOARDING, False, "requirements.past_due"),
                "seller_id": "seller-moves",
            },
        ),
        (
            "webhook",
            standing(SellerStatus.ONBOARDING, False, "requirements.past_due"),
            {**standing(SellerStatus.ACTIVE, True, None), "seller_id": "seller-moves"},
        ),
        (
            "admin",
            standing(SellerStatus.ACTIVE, True, None),
            {
                **standing(SellerStatus.RESTRICTED, False, "requirements.past_due"),
                "seller_id": "seller-moves",
            },
        ),
    ]
    assert signals == [
        TransferSignal("seller-moves", account_id, True),
        TransferSignal("seller-moves", account_id, False),
    ]
    assert await accounts.transfer_destination("seller-moves") is None


async def test_a_listener_is_told_after_the_change_is_committed_and_one_that_fails_changes_nothing(
    accounts: StripeAccounts, provider: StripeAdapter, emulator: EmulatorServer, database: Database
) -> None:
    """What a listener reads when called is the committed state; a failing listener neither undoes
    the change nor stops the others, and the job's query still finds the seller."""
    seen_by_listener: list[str | None] = []

    async def failing(signal: TransferSignal) -> None:
        raise RuntimeError("the checkout is down")

    async def reading(signal: TransferSignal) -> None:
        seen_by_listener.append(await accounts.transfer_destination(signal.seller_id))

    accounts.on_transfers_changed(failing)
    accounts.on_transfers_changed(reading)
    account_id = await new_account(provider, "seller-listened")
    await emulator.control_async(f"accounts/{account_id}/verify")

    assert await accounts.refresh(account_id, Actor.webhook("evt_1"))

    assert seen_by_listener == [account_id]
    assert await accounts.sellers_receiving_transfers(None, 10) == [("seller-listened", account_id)]


async def test_the_catch_up_query_walks_every_seller_able_to_receive_by_seller_id(
    accounts: StripeAccounts, provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    sellers = [f"seller-{index}" for index in range(5)]
    for seller_id in sellers:
        account_id = await new_account(provider, seller_id)
        if seller_id != "seller-2":
            await emulator.control_async(f"accounts/{account_id}/verify")
        await accounts.refresh(account_id, Actor.webhook(f"evt_{seller_id}"))

    first = await accounts.sellers_receiving_transfers(None, 2)
    rest = await accounts.sellers_receiving_transfers(first[-1][0], 10)

    assert [seller for seller, _ in first + rest] == ["seller-0", "seller-1", "seller-3", "seller-4"]


async def test_deauthorization_rejects_the_seller_once_and_survives_later_updates(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
    database: Database,
    signals: list[TransferSignal],
) -> None:
    account_id = await new_account(provider, "seller-gone")
    await emulator.control_async(f"accounts/{account_id}/verify")
    application = stripe_object("application", id="ca_platform", name="Marketplace")
    deauthorized = stripe_event(
        "account.application.deauthorized", application, account=account_id, created=NOW
    )
    await deliver(inbox, account_updated(await as_stripe_has_it(emulator, account_id), created=NOW - 30))
    await worker.process_due()
    await deliver(inbox, deauthorized)
    await worker.process_due()
    await worker.replay(deauthorized["id"], Actor.from_roles("admin-1", ["admin"]))
    await deliver(inbox, account_updated(await as_stripe_has_it(emulator, account_id), created=NOW - 60))
    await worker.process_due()

    account = await accounts.get(account_id)
    assert account is not None
    assert account.deauthorized is True
    assert account.deauthorized_at == datetime.fromtimestamp(NOW, UTC)
    verification = account.verification()
    assert (verification.status, verification.status_reason) == (SellerStatus.REJECTED, "deauthorized")
    assert account.can_receive_transfers is False
    assert await accounts.transfer_destination("seller-gone") is None
    changes = await status_changes(database, account_id)
    assert [(kind, after["status"]) for kind, _, after in changes] == [
        ("webhook", "active"),
        ("webhook", "rejected"),
    ]
    assert changes[-1][2]["status_reason"] == "deauthorized"
    assert signals == [
        TransferSignal("seller-gone", account_id, True),
        TransferSignal("seller-gone", account_id, False),
    ]


async def test_capability_updated_reads_the_account_again(
    accounts: StripeAccounts,
    provider: StripeAdapter,
    emulator: EmulatorServer,
    database: Database,
    inbox: WebhookInbox,
    worker: WebhookProcessor,
) -> None:
    account_id = await new_account(provider, "seller-capable")
    await emulator.control_async(f"accounts/{account_id}/verify")
    [event] = [
        e for e in emulator.events("capability.updated") if e["account"] == account_id
    ]  # what Stripe sent for the transfers capability

    await deliver(inbox, event)
    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    account = await accounts.get(account_id)
    assert account is not None
    assert (account.status, account.can_receive_transfers) == (SellerStatus.ACTIVE, True)


async def test_a_second_account_claiming_the_same_seller_is_a_conflict(
    accounts: StripeAccounts, provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    first = await new_account(provider, "seller-9")
    second = (
        await emulator.stripe_client().v1.accounts.create_async(
            {"type": "express", "country": "US", "metadata": {"seller_id": "seller-9"}}
        )
    ).id
    assert await accounts.refresh(first, Actor.webhook("evt_1"))

    with pytest.raises(SellerAccountConflict):
        await accounts.refresh(second, Actor.webhook("evt_2"))


async def test_the_platforms_own_account_updated_is_not_a_connected_account(
    database: Database, accounts: StripeAccounts, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    platform_account: dict[str, Any] = stripe_object("account", id="acct_platform")
    await deliver(inbox, stripe_event("account.updated", platform_account), PLATFORM_WEBHOOK_SECRET)

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    assert await accounts.get(platform_account["id"]) is None
