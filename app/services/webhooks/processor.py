"""Processing stored events: claim a small batch, run each one's handlers, record the outcomes.

A claim is a conditional update of the event document (due: `next_attempt_at` passed, and
unchanged since it was read) to `processing` with a claim id and an expiry, so two workers never
hold the same event; a claim whose worker died lapses at its expiry and the event is due again.
Only the holder of the current claim may record the outcome. A dead-letter is audited
(`webhook_event.dead_lettered`), so it is recorded apart, in a transaction with its audit
record; so is an admin's replay (`webhook_event.replayed`) with its claim.

What a claim costs, and why it is claimed this way (measured with `make bench`: SecantusDB,
200 to 400 top-up events, each worker a process of its own, on two cores):

- Before, each event was claimed alone by a `findAndModify` sorted on the due index. Its cost
  grew with the backlog: SecantusDB reads every index entry in the range before it applies the
  limit (22 ms per claim with ~100 due events), and it holds its storage lock while it does,
  so every other command of every worker (a point update by `_id`: 7 ms alone) waited behind
  it. With several workers all claims raced for the same oldest event: a loser's write matched
  nothing and SecantusDB re-ran the whole scan, so the server's CPU per event grew from 29 ms
  (1 worker) to 39 ms (2) and 63 ms (4), claims took 62 ms then 176 ms, and 4 workers
  processed 5 events/s where 1 processed 14 (a raw ledger post: 57/s in that run).
- Now a worker reads up to `FETCH` events due in a narrow window past the oldest due event
  (`DueWindow`: the range holds about `FETCH` entries whatever the backlog), picks `CLAIM_BATCH`
  of them at random so workers spread over the due events instead of all taking the oldest,
  and claims them in one bulk update whose matches re-check each event; it records the batch's
  outcomes in one bulk update too. A look that finds fewer due events than a batch ends the
  pass, so no claim is spent finding nothing at the end of a batch. Server CPU per event: 10 ms.
- What is left is the database's own ceiling: SecantusDB serves every client from one Python
  process (a thread per connection), and its CPU per command grows with concurrent clients.
  Raw ledger posts by 1, 2 and 4 processes ran at 203, 222 and 172 per second (server CPU per
  post 3.4, 5.0 and 6.0 ms), and processing follows at about a third of that at each
  concurrency (74, 70 and 55 events/s): more workers no longer fight over claims, but on
  SecantusDB they cannot go faster than the database lets writes go. Updates of
  `webhook_events` are its dearest writes (about 1 ms per index per 8 documents, whichever
  fields change, and the collection has five indexes for the admin lists). Where a handler
  waits on Stripe, as every `payment_intent.succeeded` does to read its charge for the fee,
  workers overlap those waits and throughput rises with them: 14, 25 and 38 events/s with 1,
  2 and 4 workers for a Stripe 50 ms away.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.payment_provider import WebhookEvent
from app.adapters.stripe_webhooks import parse_event
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.webhooks import DueWindow, EventStatus, Outcome, RetryPolicy
from app.errors import NotFound, ServiceError
from app.services.audit import AuditLog
from app.services.webhooks import metrics
from app.services.webhooks.registry import HandlerRegistry
from app.services.webhooks.repository import AttemptResult, ClaimedEvent, WebhookEventRepository

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
MAX_ERROR_LENGTH = 2000
# Events claimed at once, and how many due ones a worker reads to pick them from.
CLAIM_BATCH = 8
FETCH = 4 * CLAIM_BATCH


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventInProgress(ServiceError):
    code = "webhook_event_in_progress"
    status = 409
    title = "The webhook event is being processed"


@dataclass(frozen=True, slots=True)
class EventOutcome:
    event_id: str
    event_type: str
    outcome: Outcome
    attempts: int


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one attempt came to, before its outcome is recorded."""

    result: AttemptResult
    outcome: Outcome
    event: WebhookEvent | None
    error: Exception | None = None


class WebhookProcessor:
    def __init__(
        self,
        database: Database,
        registry: HandlerRegistry,
        policy: RetryPolicy,
        audit: AuditLog,
        *,
        worker_id: str,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._audit = audit
        self._events = WebhookEventRepository(database)
        self._registry = registry
        self._policy = policy
        self.worker_id = worker_id
        self._clock = clock
        self._window = DueWindow(FETCH)
        self._random = secrets.SystemRandom()

    async def process_due(self, limit: int = 100) -> list[EventOutcome]:
        """Claim and process up to `limit` due events, a batch at a time; what happened to each."""
        outcomes: list[EventOutcome] = []
        while len(outcomes) < limit:
            wanted = min(CLAIM_BATCH, limit - len(outcomes))
            batch, last = await self._claim_batch(wanted)
            outcomes += await self._run(batch)
            if last:
                break
        return outcomes

    async def replay(self, event_id: str, actor: Actor) -> EventOutcome:
        """Run an event's handlers now, whatever its status, unless a live claim holds it."""
        claimed = await self._db.transaction(lambda session: self._claim_replay_in(session, event_id, actor))
        if claimed is None:
            if await self._events.exists(event_id):
                raise EventInProgress(f"webhook event {event_id} is being processed; retry shortly")
            raise NotFound(f"no webhook event {event_id}")
        log.info("webhook_replayed", event_id=event_id, event_type=claimed.type)
        [outcome] = await self._run([claimed])
        return outcome

    async def _claim_replay_in(
        self, session: AsyncClientSession, event_id: str, actor: Actor
    ) -> ClaimedEvent | None:
        now = self._clock()
        previous = await self._events.status_of(event_id, session)
        expires_at = now + self._policy.claim_ttl
        claimed = await self._events.claim_unheld(event_id, now, self.worker_id, expires_at, session)
        if claimed is not None:
            before = {"status": str(previous), "attempts": claimed.attempts - 1}
            after = {"status": str(EventStatus.PROCESSING), "attempts": claimed.attempts}
            subject = AuditObject("webhook_event", event_id)
            await self._audit.record(
                session, actor, "webhook_event.replayed", subject, before=before, after=after
            )
        return claimed

    async def _claim_batch(self, wanted: int) -> tuple[list[ClaimedEvent], bool]:
        """Up to `wanted` events claimed, and whether they were the last due (fewer were due).
        Events another worker took meanwhile are left out, which alone does not end the pass."""
        now = self._clock()
        upper = self._window.upper(now)
        due = await self._events.due(upper, FETCH)
        if len(due) < wanted and upper < now:  # too few in the window: look four times as far
            self._window.widen()
            upper = self._window.upper(now)
            due = await self._events.due(upper, FETCH)
        if len(due) < wanted and upper < now:  # still too few: look up to now
            upper = now
            due = await self._events.due(upper, FETCH)
        self._window.observe([event.next_attempt_at for event in due], upper)
        chosen = self._random.sample(due, min(wanted, len(due)))
        claimed = await self._events.claim(chosen, self.worker_id, now + self._policy.claim_ttl)
        return claimed, len(due) < wanted

    async def _run(self, batch: list[ClaimedEvent]) -> list[EventOutcome]:
        attempts = [await self._attempt(claimed) for claimed in batch]
        recorded = await self._record([attempt.result for attempt in attempts])
        return [self._report(attempt, attempt.result.claimed.id in recorded) for attempt in attempts]

    async def _record(self, results: list[AttemptResult]) -> set[str]:
        """Record a batch's outcomes; the ids of the events whose outcome was written. All in one
        command, but a dead-letter: each is written with its audit record in its own transaction."""
        dead = [result for result in results if result.status is EventStatus.DEAD_LETTER]
        alive = [result for result in results if result.status is not EventStatus.DEAD_LETTER]
        recorded = await self._events.record_outcomes(alive)
        for result in dead:
            if await self._dead_letter(result):
                recorded.add(result.claimed.id)
        return recorded

    async def _dead_letter(self, result: AttemptResult) -> bool:
        return await self._db.transaction(lambda session: self._dead_letter_in(session, result))

    async def _dead_letter_in(self, session: AsyncClientSession, result: AttemptResult) -> bool:
        """Dead-letter the event and audit it, while this claim is still the current one."""
        if not await self._events.record_outcome(result, session):
            return False
        claimed = result.claimed
        before = {"status": str(EventStatus.PROCESSING), "attempts": claimed.attempts}
        after = {"status": str(EventStatus.DEAD_LETTER), "attempts": claimed.attempts, **result.fields}
        actor = Actor.job(f"webhook_processor/{self.worker_id}")
        subject = AuditObject("webhook_event", claimed.id)
        await self._audit.record(
            session, actor, "webhook_event.dead_lettered", subject, before=before, after=after
        )
        return True

    async def _attempt(self, claimed: ClaimedEvent) -> _Attempt:
        try:
            event = parse_event(claimed.payload)
        except ValueError as exc:  # an unreadable payload never gets better: let it reach dead_letter
            return self._failed(claimed, None, exc)
        with _event_context(claimed, event):
            handlers = self._registry.handlers_for(event.type)
            if not handlers:
                return self._finished(claimed, event, EventStatus.IGNORED, Outcome.IGNORED)
            try:
                async with asyncio.timeout(self._policy.claim_ttl.total_seconds()):
                    for handler in handlers:
                        await handler(event)
            except Exception as exc:
                return self._failed(claimed, event, exc)
            return self._finished(claimed, event, EventStatus.PROCESSED, Outcome.PROCESSED)

    def _finished(
        self, claimed: ClaimedEvent, event: WebhookEvent, status: EventStatus, outcome: Outcome
    ) -> _Attempt:
        fields = {"processed_at": self._clock(), "last_error": None}
        return _Attempt(AttemptResult(claimed, status, fields), outcome, event)

    def _failed(self, claimed: ClaimedEvent, event: WebhookEvent | None, exc: Exception) -> _Attempt:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        if self._policy.exhausted(claimed.attempts):
            fields: dict[str, Any] = {"last_error": error}
            return _Attempt(
                AttemptResult(claimed, EventStatus.DEAD_LETTER, fields), Outcome.DEAD_LETTERED, event, exc
            )
        retry_at = self._clock() + self._policy.delay_after(claimed.attempts)
        fields = {"last_error": error, "next_attempt_at": retry_at}
        return _Attempt(
            AttemptResult(claimed, EventStatus.FAILED, fields), Outcome.RETRY_SCHEDULED, event, exc
        )

    def _report(self, attempt: _Attempt, recorded: bool) -> EventOutcome:
        claimed = attempt.result.claimed
        with _event_context(claimed, attempt.event):
            if not recorded:
                log.warning("webhook_claim_lost", attempts=claimed.attempts)
                return _outcome(claimed, Outcome.CLAIM_LOST)
            if attempt.error is not None:
                self._report_failure(attempt)
            else:
                metrics.PROCESSED.labels(claimed.type, attempt.outcome.value).inc()
                log.info("webhook_processed", outcome=attempt.outcome.value, attempts=claimed.attempts)
            if attempt.outcome is Outcome.PROCESSED and attempt.event is not None:
                lag = (self._clock() - attempt.event.created).total_seconds()
                metrics.PROCESSING_LAG.observe(max(lag, 0.0))
        return _outcome(claimed, attempt.outcome)

    def _report_failure(self, attempt: _Attempt) -> None:
        claimed, error = attempt.result.claimed, attempt.result.fields["last_error"]
        metrics.FAILED.labels(claimed.type).inc()
        if attempt.outcome is Outcome.DEAD_LETTERED:
            metrics.DEAD_LETTERED.labels(claimed.type).inc()
            log.error("webhook_dead_lettered", attempts=claimed.attempts, error=error, exc_info=attempt.error)
        else:
            log.warning(
                "webhook_handler_failed", attempts=claimed.attempts, error=error, exc_info=attempt.error
            )


def _event_context(claimed: ClaimedEvent, event: WebhookEvent | None) -> Any:
    """The log context of an event: its id and type, and what it is about once it could be read."""
    about = {} if event is None else {"account": event.account, "object_id": event.normalized.object_id}
    return structlog.contextvars.bound_contextvars(event_id=claimed.id, event_type=claimed.type, **about)


def _outcome(claimed: ClaimedEvent, outcome: Outcome) -> EventOutcome:
    return EventOutcome(
        event_id=claimed.id, event_type=claimed.type, outcome=outcome, attempts=claimed.attempts
    )
