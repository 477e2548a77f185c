"""Helpers for webhook tests: store signed events, build processors with test handlers and clocks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.adapters.payment_provider import WebhookEvent
from app.adapters.stripe_webhooks import StripeWebhookSignatures
from app.config import Settings
from app.db import Database
from app.domain.webhooks import RetryPolicy
from app.services.audit import AuditLog
from app.services.jobs import runner_id
from app.services.webhooks import HandlerRegistry, Receipt, WebhookHandler, WebhookInbox, WebhookProcessor
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

    async def __call__(self, event: WebhookEvent) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"handler failure {self.calls}")
        self.seen.append(event.id)


def inbox_for(database: Database, settings: Settings) -> WebhookInbox:
    return WebhookInbox(database, StripeWebhookSignatures.from_settings(settings), settings.stripe_livemode)


def policy(*, max_attempts: int = 8, base_seconds: float = 0, claim_seconds: float = 30) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts,
        base_delay=timedelta(seconds=base_seconds),
        max_delay=timedelta(hours=1),
        claim_ttl=timedelta(seconds=claim_seconds),
    )


def processor(
    database: Database,
    handlers: dict[str, WebhookHandler],
    *,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
    worker_id: str | None = None,
) -> WebhookProcessor:
    registry = HandlerRegistry()
    registry.register_all(handlers)
    return WebhookProcessor(
        database,
        registry,
        retry or policy(),
        AuditLog(database),
        worker_id=worker_id or runner_id(),
        clock=clock or (lambda: datetime.now(UTC)),
    )


async def deliver(inbox: WebhookInbox, event: JsonObject, secret: str = CONNECT_WEBHOOK_SECRET) -> Receipt:
    body, headers = signed_delivery(event, secret)
    return await inbox.receive(body, headers["Stripe-Signature"])
