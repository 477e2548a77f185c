"""Webhook intake: verify Stripe's signature, check the event, store it once. No processing here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from app.adapters.payment_provider import EventEnvelope
from app.adapters.stripe_webhooks import StripeWebhookSignatures, read_envelope
from app.db import Database
from app.domain.webhooks import (
    InvalidSignature,
    InvalidWebhookPayload,
    LivemodeMismatch,
    MalformedEvent,
    WebhookRejected,
)
from app.services.webhooks import metrics
from app.services.webhooks.repository import WebhookEventRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    event_id: str
    duplicate: bool


class WebhookInbox:
    def __init__(self, database: Database, signatures: StripeWebhookSignatures, livemode: bool) -> None:
        self._events = WebhookEventRepository(database)
        self._signatures = signatures
        self._livemode = livemode

    async def receive(self, body: bytes, signature_header: str | None) -> Receipt:
        try:
            return await self._receive(body, signature_header)
        except WebhookRejected as exc:
            metrics.REJECTED.labels(exc.code).inc()
            log.warning("webhook_rejected", code=exc.code, detail=exc.detail)
            raise

    async def _receive(self, body: bytes, signature_header: str | None) -> Receipt:
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSignature("the body is not UTF-8, so it cannot carry a Stripe signature") from exc
        endpoint = self._signatures.verify(payload, signature_header)
        event = _parse(payload)
        if event.livemode != self._livemode:
            raise LivemodeMismatch(
                f"event {event.id} has livemode={event.livemode} but this service runs "
                f"with {'live' if self._livemode else 'test'} keys"
            )
        stored = await self._events.insert_new(event, payload, endpoint, datetime.now(UTC))
        metrics.RECEIVED.labels(event.type, "stored" if stored else "duplicate").inc()
        log.info(
            "webhook_received",
            event_id=event.id,
            event_type=event.type,
            account=event.account,
            object_id=event.normalized.object_id,
            duplicate=not stored,
        )
        return Receipt(event_id=event.id, duplicate=not stored)


def _parse(payload: str) -> EventEnvelope:
    """The event's envelope only: its object is read when the event is handled, not here."""
    try:
        return read_envelope(payload)
    except MalformedEvent as exc:
        raise InvalidWebhookPayload(str(exc)) from exc
