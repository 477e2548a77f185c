"""Webhook intake: verify Stripe's signature, check the event, store it once. No processing here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
import structlog

from app.config import Settings
from app.db import Database
from app.domain.webhook_events import MalformedEvent, WebhookEvent, parse_event
from app.errors import ServiceError
from app.services.webhooks import metrics
from app.services.webhooks.store import WebhookEventStore, new_event_document

log = structlog.get_logger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookRejected(ServiceError):
    status = 400


class InvalidSignature(WebhookRejected):
    code = "invalid_signature"
    title = "The Stripe-Signature header is not valid"


class InvalidWebhookPayload(WebhookRejected):
    code = "invalid_webhook_payload"
    title = "The webhook body is not a Stripe event"


class LivemodeMismatch(WebhookRejected):
    code = "livemode_mismatch"
    title = "The event's livemode differs from the configured Stripe mode"


@dataclass(frozen=True, slots=True)
class Receipt:
    event_id: str
    duplicate: bool


def verify_signature(payload: str, header: str | None, secrets: dict[str, str]) -> str:
    """The name of the endpoint whose secret signed `payload`; raises `InvalidSignature`."""
    if not header:
        raise InvalidSignature("the Stripe-Signature header is missing")
    for endpoint, secret in secrets.items():
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, SIGNATURE_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return endpoint
    raise InvalidSignature(
        "the Stripe-Signature header is malformed, does not match the platform or Connect "
        f"endpoint secret, or is older than {SIGNATURE_TOLERANCE_SECONDS} seconds"
    )


def _parse(payload: str) -> WebhookEvent:
    try:
        return parse_event(json.loads(payload))
    except (json.JSONDecodeError, MalformedEvent) as exc:
        raise InvalidWebhookPayload(str(exc)) from exc


class WebhookInbox:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._store = WebhookEventStore(database)
        self._livemode = settings.stripe_livemode
        self._secrets = {
            "platform": settings.stripe_webhook_secret.get_secret_value(),
            "connect": settings.stripe_connect_webhook_secret.get_secret_value(),
        }

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
        endpoint = verify_signature(payload, signature_header, self._secrets)
        event = _parse(payload)
        if event.livemode != self._livemode:
            raise LivemodeMismatch(
                f"event {event.id} has livemode={event.livemode} but this service runs "
                f"with {'live' if self._livemode else 'test'} keys"
            )
        stored = await self._store.insert(new_event_document(event, payload, endpoint, datetime.now(UTC)))
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
