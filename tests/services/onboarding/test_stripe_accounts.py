import itertools
import json
import time
from datetime import UTC, datetime

import pytest

from app.adapters.payment_provider import Account
from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_webhooks import parse_event
from app.config import Settings
from app.container import build_services
from app.db import Database
from app.domain.audit import Actor
from app.domain.webhooks import Outcome
from app.services.onboarding import SellerAccountConflict, StripeAccounts
from app.services.webhooks import WebhookInbox, WebhookProcessor
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.services.webhooks.support import deliver, inbox_for
from tests.stripe_events import (
    JsonObject,
    account_updated,
    connected_account,
    new_id,
    stripe_event,
    stripe_object,
)

NOW = int(time.time())


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


@pytest.fixture
def worker(database: Database, settings: Settings) -> WebhookProcessor:
    """The service's own processor, with every handler the composition root registers."""
    return build_services(database, settings, StripeAdapter(settings)).webhook_processor


def verified(account_id: str, **changes: object) -> JsonObject:
    requirements = stripe_object("account")["requirements"] | {
        "currently_due": [],
        "eventually_due": [],
        "disabled_reason": None,
    }
    return connected_account(
        account_id,
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        requirements=requirements,
        **changes,
    )


async def test_account_updated_records_the_account_snapshot(
    database: Database, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    account = connected_account(metadata={"seller_id": "seller-1"})
    await deliver(inbox, account_updated(account, created=NOW))

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    snapshot = await StripeAccounts(database).get(account["id"])
    assert snapshot is not None
    assert snapshot.seller_id == "seller-1"
    assert snapshot.charges_enabled is False
    assert snapshot.payouts_enabled is False
    assert snapshot.details_submitted is False
    assert snapshot.capabilities == {"card_payments": "active", "transfers": "active"}
    assert snapshot.disabled_reason == "requirements.past_due"
    assert "external_account" in snapshot.requirements.currently_due
    assert snapshot.last_event_created == datetime.fromtimestamp(NOW, UTC)
    assert snapshot.deauthorized is False


async def test_an_older_account_updated_arriving_late_leaves_the_newer_state(
    database: Database, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    account_id = new_id("acct")
    newer = account_updated(verified(account_id), created=NOW)
    older = account_updated(connected_account(account_id), created=NOW - 60)
    await deliver(inbox, newer)
    await worker.process_due()
    await deliver(inbox, older)

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED  # handled: skipping stale state is success
    snapshot = await StripeAccounts(database).get(account_id)
    assert snapshot is not None
    assert snapshot.charges_enabled is True
    assert snapshot.last_event_id == newer["id"]


async def test_every_arrival_order_ends_in_the_state_of_the_newest_event(
    database: Database, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    for order in itertools.permutations(range(3)):
        account_id = new_id("acct")
        events = [
            account_updated(connected_account(account_id), created=NOW - 10),
            # Two events of the same second: the larger id counts as newer, whatever arrives first.
            account_updated(verified(account_id), created=NOW, event_id=f"evt_a_{account_id}"),
            account_updated(
                connected_account(account_id, payouts_enabled=True),
                created=NOW,
                event_id=f"evt_b_{account_id}",
            ),
        ]
        for index in order:
            await deliver(inbox, events[index])
            await worker.process_due()

        snapshot = await StripeAccounts(database).get(account_id)
        assert snapshot is not None
        assert (snapshot.charges_enabled, snapshot.payouts_enabled) == (False, True), order
        assert snapshot.last_event_id == f"evt_b_{account_id}"


async def test_deauthorization_is_recorded_once_and_survives_older_updates(
    database: Database, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    account_id = new_id("acct")
    application = stripe_object("application", id="ca_platform", name="Marketplace")
    deauthorized = stripe_event(
        "account.application.deauthorized", application, account=account_id, created=NOW
    )
    await deliver(inbox, account_updated(verified(account_id), created=NOW - 30))
    await deliver(inbox, deauthorized)
    await worker.process_due()
    await worker.replay(deauthorized["id"], Actor.from_roles("admin-1", ["admin"]))
    await deliver(inbox, account_updated(verified(account_id), created=NOW - 60))
    await worker.process_due()

    snapshot = await StripeAccounts(database).get(account_id)
    assert snapshot is not None
    assert snapshot.deauthorized is True
    assert snapshot.deauthorized_at == datetime.fromtimestamp(NOW, UTC)
    assert snapshot.charges_enabled is True


async def test_a_second_account_claiming_the_same_seller_is_a_conflict(database: Database) -> None:
    accounts = StripeAccounts(database)
    first = account_updated(connected_account(metadata={"seller_id": "seller-9"}), created=NOW)
    second = account_updated(connected_account(metadata={"seller_id": "seller-9"}), created=NOW)
    first_event, second_event = parse_event(json.dumps(first)), parse_event(json.dumps(second))
    await accounts.record_snapshot(first_event.object_as(Account), first_event.version)

    with pytest.raises(SellerAccountConflict):
        await accounts.record_snapshot(second_event.object_as(Account), second_event.version)


async def test_the_platforms_own_account_updated_is_not_a_connected_account(
    database: Database, inbox: WebhookInbox, worker: WebhookProcessor
) -> None:
    platform_account = connected_account()
    await deliver(inbox, stripe_event("account.updated", platform_account), PLATFORM_WEBHOOK_SECRET)

    [outcome] = await worker.process_due()

    assert outcome.outcome is Outcome.PROCESSED
    assert await StripeAccounts(database).get(platform_account["id"]) is None
