"""Top-up requests: one top-up and one PaymentIntent per (buyer, Idempotency-Key), whatever fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from pymongo import InsertOne
from pymongo.errors import AutoReconnect

from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_errors import PaymentOutcomeUnknown
from app.config import Settings
from app.container import Services, build_services
from app.db import Collections, Database, NamespacedWrite
from app.domain.money import Money
from app.domain.wallet import TopupStatus
from app.services.payment_operations import JANITOR_JOB, run_operations_janitor
from app.services.wallet import Topup, TopupAlreadyOpened
from app.services.wallet.repository import Opening, TopupRepository
from tests.conftest import make_settings
from tests.services.audit.support import audit_documents

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    # One attempt per Stripe call, so a failure injected by the emulator is seen at once.
    return make_settings(
        mongodb_uri, stripe_api_base=emulator.base_url, stripe_max_network_retries=0, stripe_retry_attempts=1
    )


@pytest.fixture
async def services(database: Database, settings: Settings) -> AsyncIterator[Services]:
    provider = StripeAdapter(settings)
    yield build_services(database, settings, provider)
    await provider.close()


def lose_connection_once(monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
    """The next payment operation recorded with its top-up fails as a failover would, before
    Stripe is called."""
    operations = services.payment_operations
    send: Callable[..., Awaitable[Any]] = operations.send_recorded
    lost: list[bool] = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(True)
            raise AutoReconnect("connection to the primary lost")
        return await send(*args, **kwargs)

    monkeypatch.setattr(operations, "send_recorded", failing_once)


async def test_an_opened_topup_refuses_another_amount_or_currency(
    services: Services, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lose_connection_once(monkeypatch, services)
    with pytest.raises(AutoReconnect):
        await services.topups.request("buyer-r", Money(1000, "usd"), "key-r")

    with pytest.raises(TopupAlreadyOpened) as refused:
        await services.topups.request("buyer-r", Money(2000, "usd"), "key-r")
    assert refused.value.status == 409
    assert (await emulator.stripe_client().v1.payment_intents.list_async()).data == []

    retried = await services.topups.request("buyer-r", Money(1000, "usd"), "key-r")
    assert (retried.amount, retried.currency) == (1000, "usd")
    intent = await emulator.stripe_client().v1.payment_intents.retrieve_async(retried.payment_intent_id or "")
    assert (intent.amount, intent.currency) == (1000, "usd")


async def test_a_topup_requested_again_after_it_opened_answers_the_same_and_records_once(
    services: Services, emulator: EmulatorServer
) -> None:
    first = await services.topups.request("buyer-a", Money(1100, "usd"), "key-a")
    again = await services.topups.request("buyer-a", Money(1100, "usd"), "key-a")

    answered = ("id", "status", "amount", "currency", "payment_intent_id", "client_secret")
    assert [getattr(again, name) for name in answered] == [getattr(first, name) for name in answered]
    assert first.client_secret
    [intent] = (await emulator.stripe_client().v1.payment_intents.list_async()).data
    assert first.payment_intent_id == intent.id
    operation = await services.database[Collections.PAYMENT_OPERATIONS].find_one({"_id": f"topup:{first.id}"})
    assert operation is not None
    assert (operation["status"], operation["attempts"], operation["stripe_id"]) == ("succeeded", 1, intent.id)
    [opened] = await audit_documents(services.database, **{"object.id": first.id})
    assert (opened["action"], opened["after"]["payment_intent_id"]) == ("topup.opened", intent.id)


async def test_the_repository_refuses_to_reopen_a_topup_with_another_currency_or_buyer(
    database: Database,
) -> None:
    topups, max_open = TopupRepository(database), 5
    await topups.open("tu_1", "buyer-c", Money(1000, "usd"), max_open)
    # the same request again: nothing changes
    await topups.open("tu_1", "buyer-c", Money(1000, "usd"), max_open)

    for user, amount in (("buyer-c", Money(1000, "eur")), ("buyer-d", Money(1000, "usd"))):
        with pytest.raises(TopupAlreadyOpened):
            await topups.open("tu_1", user, amount, max_open)
    stored = await topups.get("tu_1")
    assert stored is not None
    assert (stored.user_id, stored.amount, stored.currency) == ("buyer-c", 1000, "usd")


async def test_the_janitor_writes_the_payment_intent_it_learns_back_to_the_topup(
    services: Services, emulator: EmulatorServer
) -> None:
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, drop_response=True
    )
    with pytest.raises(PaymentOutcomeUnknown):
        await services.topups.request("buyer-j", Money(1200, "usd"), "key-j")
    [topup_id] = [topup.id for topup in await _topups_of(services, "buyer-j")]
    assert (await services.topups.get(topup_id)).payment_intent_id is None

    await run_operations_janitor(services.database, services.payment_operations, older_than=timedelta(0))

    [intent] = (await emulator.stripe_client().v1.payment_intents.list_async()).data
    topup = await services.topups.get(topup_id)
    assert (topup.payment_intent_id, topup.status) == (intent.id, TopupStatus.REQUIRES_PAYMENT)
    [learnt] = await audit_documents(services.database, **{"object.id": topup_id})
    assert (learnt["actor"], learnt["action"], learnt["before"], learnt["after"]) == (
        {"kind": "job", "id": JANITOR_JOB},
        "topup.payment_intent_learnt",
        {"payment_intent_id": None},
        {"payment_intent_id": intent.id},
    )


async def test_a_topup_whose_payment_intent_is_never_found_goes_to_review(
    services: Services, emulator: EmulatorServer
) -> None:
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, status=500
    )
    with pytest.raises(PaymentOutcomeUnknown):
        await services.topups.request("buyer-n", Money(1300, "usd"), "key-n")
    [topup] = await _topups_of(services, "buyer-n")
    # Stripe forgets idempotency keys after 24 hours; past that the janitor searches, finds nothing.
    await services.database[Collections.PAYMENT_OPERATIONS].update_many(
        {}, {"$set": {"created_at": datetime.now(UTC) - timedelta(hours=25)}}
    )

    await run_operations_janitor(services.database, services.payment_operations, older_than=timedelta(0))

    reviewed = await services.topups.get(topup.id)
    assert reviewed.status == TopupStatus.NEEDS_REVIEW
    assert "not_found_after_key_expiry" in (reviewed.review_reason or "")
    assert await services.topups.pending_amount("buyer-n", "usd") == 0
    [moved] = await audit_documents(services.database, **{"object.id": topup.id})
    assert (moved["actor"], moved["action"], moved["before"], moved["after"]) == (
        {"kind": "job", "id": JANITOR_JOB},
        "topup.status_changed",
        {"status": "requires_payment"},
        {"status": "needs_review", "review_reason": reviewed.review_reason},
    )


async def test_a_full_list_of_openings_drops_what_no_longer_awaits_payment_and_stays_exact(
    database: Database,
) -> None:
    topups, max_open, usd = TopupRepository(database), 2, Money(1000, "usd")
    openings, stored = database[Collections.TOPUP_OPENINGS], database[Collections.TOPUPS]
    assert await topups.open("tu_a", "buyer-f", usd, max_open) is Opening.OPENED
    assert await topups.open("tu_b", "buyer-f", usd, max_open) is Opening.OPENED
    assert await topups.open("tu_c", "buyer-f", usd, max_open) is Opening.REFUSED

    await stored.update_one({"_id": "tu_a"}, {"$set": {"status": "succeeded"}})
    assert await topups.open("tu_c", "buyer-f", usd, max_open) is Opening.OPENED

    # An opening that died between its two writes left an id with no top-up: while the list is
    # fresh that may be an opening under way, which keeps its place; once stale it is dropped.
    await stored.update_one({"_id": "tu_b"}, {"$set": {"status": "failed"}})
    await openings.update_one({"_id": "buyer-f"}, {"$set": {"open": ["tu_c", "tu_dead"]}})
    assert await topups.open("tu_d", "buyer-f", usd, max_open) is Opening.REFUSED
    stale = datetime.now(UTC) - timedelta(minutes=2)
    await openings.update_one({"_id": "buyer-f"}, {"$set": {"last_opened_at": stale}})
    assert await topups.open("tu_d", "buyer-f", usd, max_open) is Opening.OPENED

    listed = await openings.find_one({"_id": "buyer-f"})
    assert listed is not None
    assert sorted(listed["open"]) == ["tu_c", "tu_d"]
    assert await stored.count_documents({"user_id": "buyer-f", "status": "requires_payment"}) == 2


async def test_the_writes_along_an_opening_are_written_with_it_once_and_never_when_refused(
    database: Database,
) -> None:
    topups, max_open, usd = TopupRepository(database), 1, Money(1000, "usd")
    recorded = database[Collections.PAYMENT_OPERATIONS]

    def along(topup_id: str) -> list[NamespacedWrite]:
        return [InsertOne({"_id": f"topup:{topup_id}"}, namespace=database.namespace(recorded.name))]

    assert await topups.open("tu_a", "buyer-w", usd, max_open, along=along("tu_a")) is Opening.OPENED
    # the same opening again: its writes along were written by the first
    assert await topups.open("tu_a", "buyer-w", usd, max_open, along=along("tu_a")) is Opening.OPENED_BEFORE
    assert await topups.open("tu_b", "buyer-w", usd, max_open, along=along("tu_b")) is Opening.REFUSED

    assert [document["_id"] async for document in recorded.find()] == ["topup:tu_a"]
    assert await database[Collections.TOPUPS].count_documents({"user_id": "buyer-w"}) == 1


async def test_a_payment_intent_whose_recording_failed_is_completed_by_the_janitor(
    services: Services, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call is completed only with the top-up's PaymentIntent: a request that stops between
    Stripe's answer and that transaction leaves it pending, for the janitor to make again."""

    async def lost(*args: Any, **kwargs: Any) -> bool:
        raise AutoReconnect("connection to the primary lost")

    monkeypatch.setattr(TopupRepository, "attach_payment_intent", lost)
    with pytest.raises(AutoReconnect):
        await services.topups.request("buyer-l", Money(1400, "usd"), "key-l")
    monkeypatch.undo()
    [topup] = await _topups_of(services, "buyer-l")
    operation = await services.database[Collections.PAYMENT_OPERATIONS].find_one({"_id": f"topup:{topup.id}"})
    assert operation is not None
    assert (operation["status"], topup.payment_intent_id) == ("pending", None)

    await run_operations_janitor(services.database, services.payment_operations, older_than=timedelta(0))

    [intent] = (await emulator.stripe_client().v1.payment_intents.list_async()).data
    assert (await services.topups.get(topup.id)).payment_intent_id == intent.id
    completed = await services.database[Collections.PAYMENT_OPERATIONS].find_one({"_id": f"topup:{topup.id}"})
    assert completed is not None
    assert (completed["status"], completed["stripe_id"]) == ("succeeded", intent.id)


async def _topups_of(services: Services, user_id: str) -> list[Topup]:
    documents = services.database[Collections.TOPUPS].find({"user_id": user_id})
    return [await services.topups.get(document["_id"]) async for document in documents]
