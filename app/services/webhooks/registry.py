"""Which handlers run for which Stripe event type, and what they are given to work with.

A domain module exposes `register_webhook_handlers(registry)` and calls
`registry.register("<event type>", handler)` in it; `app.services.webhooks.handlers` lists
those modules. A handler is `async def handler(context: WebhookContext, event: WebhookEvent)`,
must be idempotent (it may run again after a crash, a retry or an admin replay) and must not
assume events arrive in order (see `app.services.webhooks.ordering`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.config import Settings
from app.db import Database
from app.domain.webhook_events import WebhookEvent


@dataclass(frozen=True)
class WebhookContext:
    """What handlers reach the rest of the service through; services join as fields here."""

    database: Database
    settings: Settings


WebhookHandler = Callable[[WebhookContext, WebhookEvent], Awaitable[None]]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[WebhookHandler]] = {}

    def register(self, event_type: str, handler: WebhookHandler) -> None:
        """Run `handler` for every `event_type` event, after the handlers registered before it."""
        handlers = self._handlers.setdefault(event_type, [])
        if any(known is handler for known in handlers):
            raise ValueError(f"{handler!r} is already registered for {event_type}")
        handlers.append(handler)

    def handlers_for(self, event_type: str) -> tuple[WebhookHandler, ...]:
        return tuple(self._handlers.get(event_type, ()))

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._handlers)
