"""The `webhook_events` collection: one document per Stripe event id, raw payload included,
claimed by one worker at a time through compare-and-set updates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import EventEnvelope, NormalizedEvent
from app.db import Collections, Database, Document
from app.domain.webhooks import EventStatus
from app.errors import UnknownCursor

# Receipt time then id as one string: the list's order and its cursor in one indexed field.
LIST_KEY = "list_key"
# The claim whose outcome was written last: tells a worker which of its outcomes were written.
RECORDED_BY = "outcome_of_claim"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.WEBHOOK_EVENTS: [
        # Due events: only claimable events carry next_attempt_at (app.domain.webhooks).
        IndexModel([("next_attempt_at", ASCENDING)], sparse=True),
        # The admin list: newest first, alone or filtered by status, type or account.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("type", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("account", ASCENDING), (LIST_KEY, DESCENDING)]),
    ],
}


@dataclass(frozen=True, slots=True)
class StoredWebhookEvent:
    id: str
    type: str
    account: str | None
    livemode: bool
    endpoint: str
    status: EventStatus
    attempts: int
    created: datetime
    received_at: datetime
    next_attempt_at: datetime | None
    processed_at: datetime | None
    last_error: str | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    normalized: NormalizedEvent
    payload: str | None  # exactly the bytes Stripe signed; left out of listings


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An event a worker holds: only the holder of `claim_id` may record its outcome."""

    id: str
    type: str
    attempts: int
    claim_id: str
    payload: str


@dataclass(frozen=True, slots=True)
class DueEvent:
    """An event due for processing, as read before it is claimed."""

    id: str
    type: str
    attempts: int
    next_attempt_at: datetime
    payload: str


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What to record of one processing attempt of a claimed event."""

    claimed: ClaimedEvent
    status: EventStatus
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventFilter:
    status: EventStatus | None = None
    type: str | None = None
    account: str | None = None

    def as_query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.status is not None:
            query["status"] = self.status.value
        if self.type is not None:
            query["type"] = self.type
        if self.account is not None:
            query["account"] = self.account
        return query


@dataclass(frozen=True, slots=True)
class EventPage:
    data: list[StoredWebhookEvent]
    has_more: bool


def list_key(received_at: datetime, event_id: str) -> str:
    return f"{received_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{event_id}"


class WebhookEventRepository:
    def __init__(self, database: Database) -> None:
        self._events = database[Collections.WEBHOOK_EVENTS]

    async def insert_new(self, event: EventEnvelope, payload: str, endpoint: str, now: datetime) -> bool:
        """Store a new event; False if this event id is already stored (a repeat delivery)."""
        try:
            await self._events.insert_one(_new_document(event, payload, endpoint, now))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, event_id: str) -> StoredWebhookEvent | None:
        document = await self._events.find_one({"_id": event_id})
        return _stored(document) if document else None

    async def status_of(self, event_id: str, session: AsyncClientSession) -> EventStatus | None:
        document = await self._events.find_one({"_id": event_id}, {"status": True}, session=session)
        return EventStatus(document["status"]) if document else None

    async def exists(self, event_id: str) -> bool:
        return bool(await self._events.count_documents({"_id": event_id}, limit=1))

    async def find_page(self, where: EventFilter, limit: int, starting_after: str | None) -> EventPage:
        query = where.as_query()
        if starting_after is not None:
            query.update(await self._after(starting_after))
        cursor = self._events.find(query, {"payload": False}).sort(LIST_KEY, DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return EventPage(data=[_stored(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def _after(self, event_id: str) -> dict[str, Any]:
        anchor = await self._events.find_one({"_id": event_id}, {LIST_KEY: True})
        if anchor is None:
            raise UnknownCursor(f"starting_after: no webhook event {event_id}")
        return {LIST_KEY: {"$lt": anchor[LIST_KEY]}}

    async def count(self, status: EventStatus) -> int:
        return await self._events.count_documents({"status": status.value})

    async def oldest_due_at(self, now: datetime) -> datetime | None:
        """When the event waiting longest became due, if any is due by `now`."""
        due = await self._events.find_one(
            {"next_attempt_at": {"$lte": now}},
            {"next_attempt_at": True},
            sort=[("next_attempt_at", ASCENDING)],
        )
        return due["next_attempt_at"] if due else None

    async def due(self, up_to: datetime, limit: int) -> list[DueEvent]:
        """Up to `limit` events due by `up_to`, oldest first (one range of the due index)."""
        cursor = (
            self._events.find(
                {"next_attempt_at": {"$lte": up_to}},
                {"type": True, "attempts": True, "next_attempt_at": True, "payload": True},
            )
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        return [
            DueEvent(d["_id"], d["type"], d["attempts"], d["next_attempt_at"], d["payload"])
            async for d in cursor
        ]

    async def claim(self, events: list[DueEvent], worker_id: str, expires_at: datetime) -> list[ClaimedEvent]:
        """Claim those of `events` still due and unchanged since they were read, in one command;
        the ones another worker took meanwhile are left out."""
        if not events:
            return []
        claim_id = uuid.uuid4().hex
        claims = [
            # Every claim counts an attempt, and only a due event is read: an event whose count
            # is still the one read is still due and unclaimed (the whole compare-and-set).
            UpdateOne(
                {"_id": event.id, "attempts": event.attempts}, _claim_update(worker_id, claim_id, expires_at)
            )
            for event in events
        ]
        claimed = await self._events.bulk_write(claims, ordered=False)
        ours = {event.id for event in events}
        if claimed.modified_count != len(events):  # another worker took some: find which are ours
            held = self._events.find({"_id": {"$in": list(ours)}, "claim_id": claim_id}, {"_id": True})
            ours = {document["_id"] async for document in held}
        return [
            ClaimedEvent(event.id, event.type, event.attempts + 1, claim_id, event.payload)
            for event in events
            if event.id in ours
        ]

    async def claim_unheld(
        self,
        event_id: str,
        now: datetime,
        worker_id: str,
        expires_at: datetime,
        session: AsyncClientSession | None = None,
    ) -> ClaimedEvent | None:
        """Claim one event whatever its status, unless a live claim holds it."""
        not_held = [
            {"status": {"$ne": EventStatus.PROCESSING.value}},
            {"claim_expires_at": {"$lte": now}},
        ]
        return await self._claim({"_id": event_id, "$or": not_held}, worker_id, expires_at, session)

    async def _claim(
        self,
        selector: dict[str, Any],
        worker_id: str,
        expires_at: datetime,
        session: AsyncClientSession | None = None,
    ) -> ClaimedEvent | None:
        document = await self._events.find_one_and_update(
            selector,
            _claim_update(worker_id, uuid.uuid4().hex, expires_at),
            projection={"payload": True, "type": True, "attempts": True, "claim_id": True},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if document is None:
            return None
        return ClaimedEvent(
            id=document["_id"],
            type=document["type"],
            attempts=document["attempts"],
            claim_id=document["claim_id"],
            payload=document["payload"],
        )

    async def record_outcomes(self, outcomes: list[AttemptResult]) -> set[str]:
        """Write each outcome and release its claim, only while that claim is still the current
        one, in one command; the ids of the events whose outcome was written."""
        if not outcomes:
            return set()
        updates = [UpdateOne(_outcome_match(outcome), _outcome_update(outcome)) for outcome in outcomes]
        written = await self._events.bulk_write(updates, ordered=False)
        ids = {outcome.claimed.id for outcome in outcomes}
        if written.modified_count == len(outcomes):
            return ids
        # Some claims lapsed and were taken over: the events we wrote carry our claim as their last.
        claims = list({outcome.claimed.claim_id for outcome in outcomes})
        ours = self._events.find({"_id": {"$in": list(ids)}, RECORDED_BY: {"$in": claims}}, {"_id": True})
        return {document["_id"] async for document in ours}

    async def record_outcome(self, outcome: AttemptResult, session: AsyncClientSession) -> bool:
        """Write one outcome as `record_outcomes` does, in the caller's transaction (an outcome
        that is audited); whether it was written."""
        result = await self._events.update_one(
            _outcome_match(outcome), _outcome_update(outcome), session=session
        )
        return result.modified_count == 1


def _claim_update(worker_id: str, claim_id: str, expires_at: datetime) -> Document:
    return {
        "$set": {
            "status": EventStatus.PROCESSING.value,
            "claimed_by": worker_id,
            "claim_id": claim_id,
            "claim_expires_at": expires_at,
            # A processing event is due again only when its claim lapses.
            "next_attempt_at": expires_at,
        },
        "$inc": {"attempts": 1},
    }


def _outcome_match(outcome: AttemptResult) -> Document:
    # The claim id is the claim's own: a later claim replaces it and an outcome removes it.
    return {"_id": outcome.claimed.id, "claim_id": outcome.claimed.claim_id}


def _outcome_update(outcome: AttemptResult) -> Document:
    released = {"claimed_by": "", "claim_id": "", "claim_expires_at": ""}
    if "next_attempt_at" not in outcome.fields:
        released["next_attempt_at"] = ""
    return {
        "$set": {"status": outcome.status.value, RECORDED_BY: outcome.claimed.claim_id, **outcome.fields},
        "$unset": released,
    }


def _new_document(event: EventEnvelope, payload: str, endpoint: str, now: datetime) -> Document:
    normalized = event.normalized
    return {
        "_id": event.id,
        "type": event.type,
        "account": event.account,
        "created": event.created,
        "livemode": event.livemode,
        "endpoint": endpoint,
        "received_at": now,
        LIST_KEY: list_key(now, event.id),
        "status": EventStatus.PENDING.value,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": now,
        "normalized": {
            "event_type": normalized.event_type,
            "object_type": normalized.object_type,
            "object_id": normalized.object_id,
            "account": normalized.account,
            "amount": normalized.amount,
            "currency": normalized.currency,
            "refs": dict(normalized.refs),
        },
        # Exactly the bytes Stripe signed, so the event can be verified or re-parsed later.
        "payload": payload,
    }


def _stored(document: Document) -> StoredWebhookEvent:
    return StoredWebhookEvent(
        id=document["_id"],
        type=document["type"],
        account=document["account"],
        livemode=document["livemode"],
        endpoint=document["endpoint"],
        status=EventStatus(document["status"]),
        attempts=document["attempts"],
        created=document["created"],
        received_at=document["received_at"],
        next_attempt_at=document.get("next_attempt_at"),
        processed_at=document.get("processed_at"),
        last_error=document.get("last_error"),
        claimed_by=document.get("claimed_by"),
        claim_expires_at=document.get("claim_expires_at"),
        normalized=NormalizedEvent(**document["normalized"]),
        payload=document.get("payload"),
    )
