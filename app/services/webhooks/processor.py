"""Processing stored events: claim one under a lease, run its handlers, record the outcome.

A claim is one conditional update of the event document (due: `next_attempt_at` passed) to
`processing` with a claim id and an expiry, so two workers never hold the same event; a claim
whose worker died lapses at its expiry and the event is due again. Only the holder of the
current claim may record the outcome.
"""

from __future__ import annotations

import asyncio
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
from app.domain.webhooks import EventStatus, Outcome, RetryPolicy
from app.errors import NotFound, ServiceError
from app.services.audit import AuditLog
from app.services.webhooks import metrics
from app.services.webhooks.registry import HandlerRegistry
from app.services.webhooks.repository import ClaimedEvent, WebhookEventRepository

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
MAX_ERROR_LENGTH = 2000


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

    async def process_due(self, limit: int = 100) -> list[EventOutcome]:
        """Claim and process up to `limit` due events, oldest due first; what happened to each."""
        outcomes: list[EventOutcome] = []
        while len(outcomes) < limit:
            now = self._clock()
            claimed = await self._events.claim_due(now, self.worker_id, now + self._policy.claim_ttl)
            if claimed is None:
                break
            outcomes.append(await self._run(claimed))
        return outcomes

    async def replay(self, event_id: str, actor: Actor) -> EventOutcome:
        """Run an event's handlers now, whatever its status, unless a live claim holds it."""
        claimed = await self._db.transaction(lambda session: self._claim_replay_in(session, event_id, actor))
        if claimed is None:
            if await self._events.exists(event_id):
                raise EventInProgress(f"webhook event {event_id} is being processed; retry shortly")
            raise NotFound(f"no webhook event {event_id}")
        log.info("webhook_replayed", event_id=event_id, event_type=claimed.type)
        return await self._run(claimed)

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

    async def _run(self, claimed: ClaimedEvent) -> EventOutcome:
        try:
            event = parse_event(claimed.payload)
        except ValueError as exc:  # an unreadable payload never gets better: let it reach dead_letter
            return await self._fail(claimed, exc)
        with structlog.contextvars.bound_contextvars(
            event_id=event.id,
            event_type=event.type,
            account=event.account,
            object_id=event.normalized.object_id,
        ):
            return await self._dispatch(claimed, event)

    async def _dispatch(self, claimed: ClaimedEvent, event: WebhookEvent) -> EventOutcome:
        handlers = self._registry.handlers_for(event.type)
        if not handlers:
            return await self._finish(claimed, EventStatus.IGNORED, Outcome.IGNORED)
        try:
            async with asyncio.timeout(self._policy.claim_ttl.total_seconds()):
                for handler in handlers:
                    await handler(event)
        except Exception as exc:
            return await self._fail(claimed, exc)
        outcome = await self._finish(claimed, EventStatus.PROCESSED, Outcome.PROCESSED)
        if outcome.outcome is Outcome.PROCESSED:
            metrics.PROCESSING_LAG.observe(max((self._clock() - event.created).total_seconds(), 0.0))
        return outcome

    async def _finish(self, claimed: ClaimedEvent, status: EventStatus, outcome: Outcome) -> EventOutcome:
        fields = {"processed_at": self._clock(), "last_error": None}
        if not await self._events.record_outcome(claimed, status, fields):
            return self._claim_lost(claimed)
        metrics.PROCESSED.labels(claimed.type, outcome.value).inc()
        log.info("webhook_processed", outcome=outcome.value, attempts=claimed.attempts)
        return _outcome(claimed, outcome)

    async def _fail(self, claimed: ClaimedEvent, exc: Exception) -> EventOutcome:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        metrics.FAILED.labels(claimed.type).inc()
        if self._policy.exhausted(claimed.attempts):
            status, outcome = EventStatus.DEAD_LETTER, Outcome.DEAD_LETTERED
            fields: dict[str, Any] = {"last_error": error}
        else:
            status, outcome = EventStatus.FAILED, Outcome.RETRY_SCHEDULED
            retry_at = self._clock() + self._policy.delay_after(claimed.attempts)
            fields = {"last_error": error, "next_attempt_at": retry_at}
        if not await self._record_failure(claimed, status, fields):
            return self._claim_lost(claimed)
        if outcome is Outcome.DEAD_LETTERED:
            metrics.DEAD_LETTERED.labels(claimed.type).inc()
            log.error("webhook_dead_lettered", attempts=claimed.attempts, error=error, exc_info=exc)
        else:
            log.warning("webhook_handler_failed", attempts=claimed.attempts, error=error, exc_info=exc)
        return _outcome(claimed, outcome)

    async def _record_failure(
        self, claimed: ClaimedEvent, status: EventStatus, fields: dict[str, Any]
    ) -> bool:
        if status is not EventStatus.DEAD_LETTER:
            return await self._events.record_outcome(claimed, status, fields)
        return await self._db.transaction(lambda session: self._dead_letter_in(session, claimed, fields))

    async def _dead_letter_in(
        self, session: AsyncClientSession, claimed: ClaimedEvent, fields: dict[str, Any]
    ) -> bool:
        """Dead-letter the event and audit it, while this claim is still the current one."""
        if not await self._events.record_outcome(claimed, EventStatus.DEAD_LETTER, fields, session):
            return False
        before = {"status": str(EventStatus.PROCESSING), "attempts": claimed.attempts}
        after = {"status": str(EventStatus.DEAD_LETTER), "attempts": claimed.attempts, **fields}
        actor = Actor.job(f"webhook_processor/{self.worker_id}")
        subject = AuditObject("webhook_event", claimed.id)
        await self._audit.record(
            session, actor, "webhook_event.dead_lettered", subject, before=before, after=after
        )
        return True

    def _claim_lost(self, claimed: ClaimedEvent) -> EventOutcome:
        log.warning("webhook_claim_lost", attempts=claimed.attempts)
        return _outcome(claimed, Outcome.CLAIM_LOST)


def _outcome(claimed: ClaimedEvent, outcome: Outcome) -> EventOutcome:
    return EventOutcome(
        event_id=claimed.id, event_type=claimed.type, outcome=outcome, attempts=claimed.attempts
    )
