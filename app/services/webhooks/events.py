"""Stored webhook events as admins and support see them."""

from __future__ import annotations

from datetime import UTC, datetime

from app.db import Database
from app.domain.webhooks import EventStatus
from app.errors import NotFound
from app.services.webhooks.repository import (
    EventFilter,
    EventPage,
    StoredWebhookEvent,
    WebhookEventRepository,
)


class WebhookEvents:
    def __init__(self, database: Database) -> None:
        self._events = WebhookEventRepository(database)

    async def page(self, where: EventFilter, limit: int, starting_after: str | None) -> EventPage:
        """Events matching `where`, newest first; `starting_after` is the last id of the previous page."""
        return await self._events.find_page(where, limit, starting_after)

    async def get(self, event_id: str) -> StoredWebhookEvent:
        event = await self._events.get(event_id)
        if event is None:
            raise NotFound(f"no webhook event {event_id}")
        return event

    async def count(self, status: EventStatus) -> int:
        return await self._events.count(status)

    async def oldest_due_at(self) -> datetime | None:
        """When the event waiting longest for a worker became due (None when none is due): how far
        behind processing is, whether the worker is slow or stopped."""
        return await self._events.oldest_due_at(datetime.now(UTC))
