"""Processing stored events: claim one under a lease, run its handlers, record the outcome.

A claim is one conditional update of the event document (due: `next_attempt_at` passed) to
`processing` with a claim id and an expiry, so two workers never hold the same event; a claim
whose worker died lapses at its expiry and the event is due again. Only the holder of the
current claim may record the outcome.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog
from pymongo import ASCENDING, ReturnDocument

from app.db import Collections, Database, Document
from app.domain.webhook_events import EventStatus, RetryPolicy, WebhookEvent, parse_event
from app.errors import NotFound, ServiceError
from app.services.leases import runner_id
from app.services.webhooks import metrics
from app.services.webhooks.registry import HandlerRegistry, WebhookContext

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
MAX_ERROR_LENGTH = 2000


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventInProgress(ServiceError):
    code = "webhook_event_in_progress"
    status = 409
    title = "The webhook event is being processed"


class Outcome(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"
    CLAIM_LOST = "claim_lost"


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
        context: WebhookContext,
        policy: RetryPolicy,
        *,
        worker_id: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._events = database[Collections.WEBHOOK_EVENTS]
        self._registry = registry
        self._context = context
        self._policy = policy
        self.worker_id = worker_id or runner_id()
        self._clock = clock

    async def process_due(self, limit: int = 100) -> list[EventOutcome]:
        """Claim and process up to `limit` due events, oldest due first; what happened to each."""
        outcomes: list[EventOutcome] = []
        while len(outcomes) < limit:
            claimed = await self._claim({"next_attempt_at": {"$lte": self._clock()}})
            if claimed is None:
                break
            outcomes.append(await self._run(claimed))
        return outcomes

    async def replay(self, event_id: str) -> EventOutcome:
        """Run an event's handlers now, whatever its status, unless a live claim holds it."""
        not_held = [
            {"status": {"$ne": EventStatus.PROCESSING.value}},
            {"claim_expires_at": {"$lte": self._clock()}},
        ]
        claimed = await self._claim({"_id": event_id, "$or": not_held})
        if claimed is None:
            if await self._events.count_documents({"_id": event_id}, limit=1):
                raise EventInProgress(f"webhook event {event_id} is being processed; retry shortly")
            raise NotFound(f"no webhook event {event_id}")
        log.info("webhook_replayed", event_id=event_id, event_type=claimed["type"])
        return await self._run(claimed)

    async def _claim(self, selector: dict[str, Any]) -> Document | None:
        expires_at = self._clock() + self._policy.claim_ttl
        return await self._events.find_one_and_update(
            selector,
            {
                "$set": {
                    "status": EventStatus.PROCESSING.value,
                    "claimed_by": self.worker_id,
                    "claim_id": uuid.uuid4().hex,
                    "claim_expires_at": expires_at,
                    # A processing event is due again only when its claim lapses.
                    "next_attempt_at": expires_at,
                },
                "$inc": {"attempts": 1},
            },
            projection={"payload": True, "type": True, "attempts": True, "claim_id": True},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def _run(self, claimed: Document) -> EventOutcome:
        try:
            event = parse_event(json.loads(claimed["payload"]))
        except ValueError as exc:  # an unreadable payload never gets better: let it reach dead_letter
            return await self._fail(claimed, exc)
        with structlog.contextvars.bound_contextvars(
            event_id=event.id,
            event_type=event.type,
            account=event.account,
            object_id=event.normalized.object_id,
        ):
            return await self._dispatch(claimed, event)

    async def _dispatch(self, claimed: Document, event: WebhookEvent) -> EventOutcome:
        handlers = self._registry.handlers_for(event.type)
        if not handlers:
            return await self._finish(claimed, EventStatus.IGNORED, Outcome.IGNORED)
        try:
            async with asyncio.timeout(self._policy.claim_ttl.total_seconds()):
                for handler in handlers:
                    await handler(self._context, event)
        except Exception as exc:
            return await self._fail(claimed, exc)
        outcome = await self._finish(claimed, EventStatus.PROCESSED, Outcome.PROCESSED)
        if outcome.outcome is Outcome.PROCESSED:
            metrics.PROCESSING_LAG.observe(max((self._clock() - event.created).total_seconds(), 0.0))
        return outcome

    async def _finish(self, claimed: Document, status: EventStatus, outcome: Outcome) -> EventOutcome:
        if not await self._record(claimed, status, {"processed_at": self._clock(), "last_error": None}):
            return self._claim_lost(claimed)
        metrics.PROCESSED.labels(claimed["type"], outcome.value).inc()
        log.info("webhook_processed", outcome=outcome.value, attempts=claimed["attempts"])
        return _outcome(claimed, outcome)

    async def _fail(self, claimed: Document, exc: Exception) -> EventOutcome:
        attempts: int = claimed["attempts"]
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        metrics.FAILED.labels(claimed["type"]).inc()
        if self._policy.exhausted(attempts):
            recorded = await self._record(claimed, EventStatus.DEAD_LETTER, {"last_error": error})
            outcome = Outcome.DEAD_LETTERED
        else:
            retry_at = self._clock() + self._policy.delay_after(attempts)
            fields = {"last_error": error, "next_attempt_at": retry_at}
            recorded = await self._record(claimed, EventStatus.FAILED, fields)
            outcome = Outcome.RETRY_SCHEDULED
        if not recorded:
            return self._claim_lost(claimed)
        if outcome is Outcome.DEAD_LETTERED:
            metrics.DEAD_LETTERED.labels(claimed["type"]).inc()
            log.error("webhook_dead_lettered", attempts=attempts, error=error, exc_info=exc)
        else:
            log.warning("webhook_handler_failed", attempts=attempts, error=error, exc_info=exc)
        return _outcome(claimed, outcome)

    async def _record(self, claimed: Document, status: EventStatus, fields: dict[str, Any]) -> bool:
        """Write an outcome and release the claim, only while this claim is still the current one."""
        released = {"claimed_by": "", "claim_id": "", "claim_expires_at": ""}
        if "next_attempt_at" not in fields:
            released["next_attempt_at"] = ""
        result = await self._events.update_one(
            {"_id": claimed["_id"], "status": EventStatus.PROCESSING.value, "claim_id": claimed["claim_id"]},
            {"$set": {"status": status.value, **fields}, "$unset": released},
        )
        return result.modified_count == 1

    def _claim_lost(self, claimed: Document) -> EventOutcome:
        log.warning("webhook_claim_lost", attempts=claimed["attempts"])
        return _outcome(claimed, Outcome.CLAIM_LOST)


def _outcome(claimed: Document, outcome: Outcome) -> EventOutcome:
    return EventOutcome(
        event_id=claimed["_id"], event_type=claimed["type"], outcome=outcome, attempts=claimed["attempts"]
    )
