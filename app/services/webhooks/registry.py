"""Which handlers run for which Stripe event type, and what they are given to work with.

A domain module exposes `register_webhook_handlers(registry)` and calls
`registry.register("<event type>", handler)` in it; `app.services.webhooks.wiring` lists
those modules. A handler is `async def handler(context: WebhookContext, event: WebhookEvent)`,
must be idempotent (it may run again after a crash, a retry or an admin replay) and must not
assume events arrive in order (see `app.services.webhooks.ordering`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.webhook_events import WebhookEvent

if TYPE_CHECKING:  # the container imports the domain services, some of which register handlers
    from app.config import Settings
    from app.db import Database
    from app.services.container import Services


@dataclass(frozen=True)
class WebhookContext:
    """What handlers reach the rest of the service through: every service of the process."""

    services: Services

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def settings(self) -> Settings:
        return self.services.settings


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
