"""Helpers for webhook tests: store signed events, build processors with test handlers and clocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.db import Database
from app.domain.webhook_events import RetryPolicy, WebhookEvent
from app.services.container import Services
from app.services.webhooks.intake import Receipt, WebhookInbox
from app.services.webhooks.processor import WebhookProcessor
from app.services.webhooks.registry import HandlerRegistry, WebhookContext
from tests.conftest import CONNECT_WEBHOOK_SECRET
from tests.stripe_events import JsonObject, signed_delivery


class FakeClock:
    def __init__(self) -> None:
        now = datetime.now(UTC)
        # Whole milliseconds, as MongoDB stores them, so stored times compare exactly.
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordingHandler:
    """Records each event it handles; fails its first `failures` calls."""

    failures: int = 0
    seen: list[str] = field(default_factory=list)
    calls: int = 0

    async def __call__(self, context: WebhookContext, event: WebhookEvent) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"handler failure {self.calls}")
        self.seen.append(event.id)


def services_for(database: Database, settings: Settings) -> Services:
    return Services.build(database, settings, StripeAdapter(settings))


def policy(*, max_attempts: int = 8, base_seconds: float = 0, claim_seconds: float = 30) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts,
        base_delay=timedelta(seconds=base_seconds),
        max_delay=timedelta(hours=1),
        claim_ttl=timedelta(seconds=claim_seconds),
    )


def processor(
    database: Database,
    settings: Settings,
    handlers: dict[str, Callable[[WebhookContext, WebhookEvent], Awaitable[None]]],
    *,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
    worker_id: str | None = None,
) -> WebhookProcessor:
    registry = HandlerRegistry()
    for event_type, handler in handlers.items():
        registry.register(event_type, handler)
    context = WebhookContext(services=services_for(database, settings))
    return WebhookProcessor(
        database,
        registry,
        context,
        retry or policy(),
        worker_id=worker_id,
        clock=clock or (lambda: datetime.now(UTC)),
    )


async def deliver(inbox: WebhookInbox, event: JsonObject, secret: str = CONNECT_WEBHOOK_SECRET) -> Receipt:
    body, headers = signed_delivery(event, secret)
    return await inbox.receive(body, headers["Stripe-Signature"])
