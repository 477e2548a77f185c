"""Top-ups awaiting payment and the signed `payment_intent.succeeded` events that pay them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import stripe

from app.container import Services
from app.db import Collections
from bench.settings import WEBHOOK_SECRET
from tests.stripe_events import stripe_object


def topup_intent(topup_id: str, user_id: str, amount: int) -> dict[str, Any]:
    """A succeeded top-up PaymentIntent as Stripe sends it, every field included."""
    return stripe_object(
        "payment_intent",
        id=f"pi_{uuid.uuid4().hex[:24]}",
        amount=amount,
        amount_received=amount,
        currency="usd",
        status="succeeded",
        metadata={"topup_id": topup_id, "user_id": user_id, "purpose": "wallet_topup"},
    )


def succeeded_event(intent: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "api_version": stripe.api_version,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": intent},
        }
    )


async def store_paid_topups(services: Services, count: int, amount: int = 100) -> None:
    """`count` top-ups of distinct buyers awaiting payment, and their success events stored by
    the webhook intake, due for processing."""
    now = datetime.now(UTC)
    topups: list[dict[str, Any]] = [
        {
            "_id": f"tu_{uuid.uuid4().hex[:24]}",
            "user_id": f"buyer-{uuid.uuid4().hex[:8]}",
            "amount": amount,
            "currency": "usd",
            "status": "requires_payment",
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(count)
    ]
    await services.database[Collections.TOPUPS].insert_many(topups)
    for topup in topups:
        payload = succeeded_event(topup_intent(topup["_id"], topup["user_id"], amount))
        signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        await services.webhook_inbox.receive(payload.encode(), signature)
