"""The `webhook_events` collection: one document per Stripe event id, raw payload included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.webhook_events import EventStatus, WebhookEvent
from app.errors import InvalidRequest, NotFound


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
    data: list[Document]
    has_more: bool


# Receipt time then id as one string: the list's order and its cursor in one indexed field.
LIST_KEY = "list_key"


def list_key(received_at: datetime, event_id: str) -> str:
    return f"{received_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{event_id}"


def new_event_document(event: WebhookEvent, raw_payload: str, endpoint: str, now: datetime) -> Document:
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
        "normalized": event.normalized.as_document(),
        # Exactly the bytes Stripe signed, so the event can be verified or re-parsed later.
        "payload": raw_payload,
    }


class WebhookEventStore:
    def __init__(self, database: Database) -> None:
        self._events = database[Collections.WEBHOOK_EVENTS]

    async def insert(self, document: Document) -> bool:
        """Store a new event; False if this event id is already stored (a repeat delivery)."""
        try:
            await self._events.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, event_id: str) -> Document:
        document = await self._events.find_one({"_id": event_id})
        if document is None:
            raise NotFound(f"no webhook event {event_id}")
        return document

    async def find_page(self, where: EventFilter, limit: int, starting_after: str | None) -> EventPage:
        query = where.as_query()
        if starting_after is not None:
            query.update(await self._after(starting_after))
        cursor = self._events.find(query, {"payload": False}).sort(LIST_KEY, DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return EventPage(data=documents[:limit], has_more=len(documents) > limit)

    async def _after(self, event_id: str) -> dict[str, Any]:
        anchor = await self._events.find_one({"_id": event_id}, {LIST_KEY: True})
        if anchor is None:
            raise InvalidRequest(f"starting_after: no webhook event {event_id}")
        return {LIST_KEY: {"$lt": anchor[LIST_KEY]}}
