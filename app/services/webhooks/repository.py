"""The `webhook_events` collection: one document per Stripe event id, raw payload included,
claimed by one worker at a time through compare-and-set updates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import NormalizedEvent, WebhookEvent
from app.db import Collections, Database, Document
from app.domain.webhooks import EventStatus
from app.errors import UnknownCursor

# Receipt time then id as one string: the list's order and its cursor in one indexed field.
LIST_KEY = "list_key"

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

    async def insert_new(self, event: WebhookEvent, payload: str, endpoint: str, now: datetime) -> bool:
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

    async def claim_due(self, now: datetime, worker_id: str, expires_at: datetime) -> ClaimedEvent | None:
        """Claim the event due the longest, if any is due."""
        return await self._claim({"next_attempt_at": {"$lte": now}}, worker_id, expires_at)

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
            {
                "$set": {
                    "status": EventStatus.PROCESSING.value,
                    "claimed_by": worker_id,
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

    async def record_outcome(
        self,
        claimed: ClaimedEvent,
        status: EventStatus,
        fields: dict[str, Any],
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Write an outcome and release the claim, only while this claim is still the current one."""
        released = {"claimed_by": "", "claim_id": "", "claim_expires_at": ""}
        if "next_attempt_at" not in fields:
            released["next_attempt_at"] = ""
        result = await self._events.update_one(
            {"_id": claimed.id, "status": EventStatus.PROCESSING.value, "claim_id": claimed.claim_id},
            {"$set": {"status": status.value, **fields}, "$unset": released},
            session=session,
        )
        return result.modified_count == 1


def _new_document(event: WebhookEvent, payload: str, endpoint: str, now: datetime) -> Document:
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
