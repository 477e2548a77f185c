import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.adapters.payment_provider import WebhookEvent
from app.adapters.stripe_webhooks import parse_event
from app.config import Settings
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.webhooks import EventStatus, Outcome
from app.errors import NotFound
from app.services.webhooks import EventInProgress, HandlerRegistry, WebhookInbox, drain
from app.services.webhooks.processor import CLAIM_BATCH, FETCH
from app.services.webhooks.repository import WebhookEventRepository
from tests.command_log import Command, CommandLog
from tests.services.webhooks.support import (
    FakeClock,
    RecordingHandler,
    deliver,
    inbox_for,
    policy,
    processor,
)
from tests.stripe_events import account_updated, connected_account, stripe_event

ADMIN = Actor.from_roles("admin-1", ["admin"])


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


async def stored(database: Database, event_id: str) -> dict[str, Any]:
    document = await database[Collections.WEBHOOK_EVENTS].find_one({"_id": event_id})
    assert document is not None
    return document


async def test_a_handler_that_fails_twice_ends_processed_after_three_attempts(
    database: Database, inbox: WebhookInbox
) -> None:
    handler = RecordingHandler(failures=2)
    receipt = await deliver(inbox, account_updated(connected_account()))
    worker = processor(database, {"account.updated": handler})

    outcomes = await drain(worker)  # each retry is due at once (no backoff here)

    assert [o.outcome for o in outcomes] == [
        Outcome.RETRY_SCHEDULED,
        Outcome.RETRY_SCHEDULED,
        Outcome.PROCESSED,
    ]
    document = await stored(database, receipt.event_id)
    assert document["status"] == EventStatus.PROCESSED
    assert document["attempts"] == 3
    assert document["last_error"] is None
    assert handler.seen == [receipt.event_id]


async def test_failures_back_off_exponentially_until_dead_letter(
    database: Database, inbox: WebhookInbox
) -> None:
    receipt = await deliver(inbox, account_updated(connected_account()))
    clock = FakeClock()
    worker = processor(
        database,
        {"account.updated": RecordingHandler(failures=99)},
        retry=policy(max_attempts=4, base_seconds=10),
        clock=clock,
    )

    delays = []
    for _ in range(3):
        [outcome] = await worker.process_due()
        assert outcome.outcome is Outcome.RETRY_SCHEDULED
        document = await stored(database, receipt.event_id)
        assert document["status"] == EventStatus.FAILED
        assert "handler failure" in str(document["last_error"])
        delays.append(document["next_attempt_at"] - clock.now)
        clock.advance(delays[-1].total_seconds() - 1)
        assert await worker.process_due() == []  # not due yet
        clock.advance(1)

    assert delays == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    [outcome] = await worker.process_due()
    assert outcome.outcome is Outcome.DEAD_LETTERED
    document = await stored(database, receipt.event_id)
    assert document["status"] == EventStatus.DEAD_LETTER
    assert document["attempts"] == 4
    clock.advance(24 * 3600)
    assert await worker.process_due() == []


async def test_an_event_type_without_handler_is_ignored(database: Database, inbox: WebhookInbox) -> None:
    payout = stripe_event("payout.paid", {"id": "po_1", "object": "payout"})
    receipt = await deliver(inbox, payout)

    [outcome] = await processor(database, {}).process_due()

    assert outcome.outcome is Outcome.IGNORED
    assert (await stored(database, receipt.event_id))["status"] == EventStatus.IGNORED


async def test_two_workers_never_process_the_same_event(database: Database, inbox: WebhookInbox) -> None:
    handled: list[str] = []

    async def slow_handler(event: WebhookEvent) -> None:
        handled.append(event.id)
        await asyncio.sleep(0.005)

    receipts = [await deliver(inbox, account_updated(connected_account())) for _ in range(20)]
    workers = [processor(database, {"account.updated": slow_handler}) for _ in range(2)]

    first, second = await asyncio.gather(*(worker.process_due(limit=50) for worker in workers))

    assert sorted(handled) == sorted(r.event_id for r in receipts)
    assert {o.event_id for o in first}.isdisjoint(o.event_id for o in second)
    assert first, "both workers took part"
    assert second, "both workers took part"
    statuses = await database[Collections.WEBHOOK_EVENTS].distinct("status")
    assert statuses == [EventStatus.PROCESSED]


async def test_an_expired_claim_is_taken_over_and_the_old_worker_cannot_record(
    database: Database, inbox: WebhookInbox
) -> None:
    stuck, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def stuck_then_fine(event: WebhookEvent) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            stuck.set()
            await release.wait()  # the first worker hangs, as if it had crashed

    receipt = await deliver(inbox, account_updated(connected_account()))
    clock = FakeClock()
    crashed = processor(database, {"account.updated": stuck_then_fine}, clock=clock)
    rescuer = processor(database, {"account.updated": stuck_then_fine}, clock=clock)
    hung = asyncio.create_task(crashed.process_due(limit=1))
    await stuck.wait()

    assert await rescuer.process_due() == []  # the claim is still live
    clock.advance(31)
    [rescued] = await rescuer.process_due()
    release.set()
    [late] = await hung

    assert rescued.outcome is Outcome.PROCESSED
    assert late.outcome is Outcome.CLAIM_LOST
    document = await stored(database, receipt.event_id)
    assert document["status"] == EventStatus.PROCESSED
    assert document["attempts"] == 2


async def test_replay_runs_the_handlers_again_unless_a_live_claim_holds_the_event(
    database: Database, inbox: WebhookInbox
) -> None:
    handler = RecordingHandler()
    receipt = await deliver(inbox, account_updated(connected_account()))
    worker = processor(database, {"account.updated": handler})
    await worker.process_due()

    replayed = await worker.replay(receipt.event_id, ADMIN)

    assert replayed.outcome is Outcome.PROCESSED
    assert handler.seen == [receipt.event_id, receipt.event_id]
    with pytest.raises(NotFound):
        await worker.replay("evt_missing", ADMIN)
    await database[Collections.WEBHOOK_EVENTS].update_one(
        {"_id": receipt.event_id},
        {
            "$set": {
                "status": EventStatus.PROCESSING.value,
                "claim_expires_at": worker._clock() + timedelta(60),
            }
        },
    )
    with pytest.raises(EventInProgress):
        await worker.replay(receipt.event_id, ADMIN)


async def test_the_registry_keeps_every_handler_of_a_type_in_registration_order() -> None:
    registry = HandlerRegistry()
    first, second = RecordingHandler(), RecordingHandler()
    registry.register("account.updated", first)
    registry.register("account.updated", second)

    assert registry.handlers_for("account.updated") == (first, second)
    assert registry.handlers_for("payout.paid") == ()
    with pytest.raises(ValueError, match="already registered"):
        registry.register("account.updated", first)


async def stored_backlog(database: Database, count: int) -> dict[str, datetime]:
    """`count` events received a millisecond apart and not processed yet, stored as the inbox
    stores them; when each is due."""
    repository = WebhookEventRepository(database)
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    due: dict[str, datetime] = {}
    for index in range(count):
        payload = json.dumps(account_updated(connected_account()))
        event = parse_event(payload)
        await repository.insert_new(event, payload, "connect", received + timedelta(milliseconds=index))
        due[event.id] = received + timedelta(milliseconds=index)
    return due


def due_index_ranges(commands: list[Command], due: dict[str, datetime], done: set[str]) -> list[int]:
    """How many due events the range of each read of the due index held when it was sent,
    replaying the reads and claims in order (claimed events leave the range)."""
    done, sizes = set(done), []
    for command in commands:
        if command.collection != "webhook_events":
            continue
        if command.name == "find":
            upper = command.document["filter"]["next_attempt_at"]["$lte"].replace(tzinfo=UTC)
            sizes.append(sum(1 for event_id, at in due.items() if at <= upper and event_id not in done))
        elif command.name == "update":
            done |= {
                update["q"]["_id"] for update in command.document["updates"] if "attempts" in update["q"]
            }
    return sizes


async def test_claims_read_a_narrow_range_of_the_due_index_whatever_the_backlog(
    database: Database, settings: Settings, command_log: CommandLog
) -> None:
    due = await stored_backlog(database, 400)
    handler = RecordingHandler()
    worker = processor(database, {"account.updated": handler})
    await worker.process_due(limit=CLAIM_BATCH)  # the first look goes up to now: it reads the backlog
    first = set(handler.seen)

    with command_log.recording(settings.mongodb_database) as commands:
        processed = await worker.process_due(limit=20 * CLAIM_BATCH)

    ranges = due_index_ranges(commands, due, first)
    assert len(processed) == 20 * CLAIM_BATCH
    # About a batch's worth (the random picks leave holes the window widens over), never the 400.
    assert max(ranges) <= 3 * FETCH, ranges
    assert len(ranges) <= 20 + 5  # one read per batch, now and then one more to look further
    assert len([c for c in commands if c.name == "update"]) == 2 * 20  # per batch: claims, outcomes
    assert len(handler.seen) == len(set(handler.seen)) == 21 * CLAIM_BATCH


async def test_a_short_batch_ends_the_pass_without_a_claim_that_finds_nothing(
    database: Database, inbox: WebhookInbox, settings: Settings, command_log: CommandLog
) -> None:
    for _ in range(3):
        await deliver(inbox, account_updated(connected_account()))
    worker = processor(database, {"account.updated": RecordingHandler()})

    with command_log.recording(settings.mongodb_database) as commands:
        outcomes = await worker.process_due()

    assert [o.outcome for o in outcomes] == [Outcome.PROCESSED] * 3
    assert [(c.name, c.collection) for c in commands] == [
        ("find", "webhook_events"),  # the due events
        ("update", "webhook_events"),  # all three claimed at once
        ("update", "webhook_events"),  # all three outcomes at once
    ]
