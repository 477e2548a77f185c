"""Which handlers run for which Stripe event type.

A domain exposes its handlers as a mapping of event type to handler, bound to the services they
use (see `app.services.wallet.webhook_handlers`); the composition root (`app.container`)
registers them. A handler is `async def handler(event: WebhookEvent) -> None`, must be
idempotent (it may run again after a crash, a retry or an admin replay) and must not assume
events arrive in order (see `app.services.webhooks.ordering`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from app.adapters.payment_provider import WebhookEvent

WebhookHandler = Callable[[WebhookEvent], Awaitable[None]]
WebhookHandlers = Mapping[str, WebhookHandler]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[WebhookHandler]] = {}

    def register(self, event_type: str, handler: WebhookHandler) -> None:
        """Run `handler` for every `event_type` event, after the handlers registered before it."""
        handlers = self._handlers.setdefault(event_type, [])
        if any(known is handler for known in handlers):
            raise ValueError(f"{handler!r} is already registered for {event_type}")
        handlers.append(handler)

    def register_all(self, handlers: WebhookHandlers) -> None:
        for event_type, handler in handlers.items():
            self.register(event_type, handler)

    def handlers_for(self, event_type: str) -> tuple[WebhookHandler, ...]:
        return tuple(self._handlers.get(event_type, ()))
