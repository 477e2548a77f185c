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
from stripe_emulator.testing import EmulatorServer
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


def awaiting_payment(count: int, amount: int) -> list[dict[str, Any]]:
    """`count` top-ups of distinct buyers awaiting payment, as the top-up request opens them."""
    now = datetime.now(UTC)
    return [
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


async def receive(services: Services, payload: str) -> None:
    """The webhook intake stores a signed event, due for processing."""
    signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    await services.webhook_inbox.receive(payload.encode(), signature)


async def store_paid_topups(services: Services, count: int, amount: int = 100) -> None:
    """`count` top-ups awaiting payment and their success events, stored and due; the intents
    carry no charge, so handling them never calls Stripe."""
    topups = awaiting_payment(count, amount)
    await services.database[Collections.TOPUPS].insert_many(topups)
    for topup in topups:
        await receive(services, succeeded_event(topup_intent(topup["_id"], topup["user_id"], amount)))


async def store_topups_paid_at_stripe(
    services: Services, emulator: EmulatorServer, count: int, amount: int = 100
) -> None:
    """`count` top-ups paid at the emulator, and the `payment_intent.succeeded` events it sent
    for them stored and due: handling each reads its charge from Stripe (for the fee)."""
    topups = awaiting_payment(count, amount)
    await services.database[Collections.TOPUPS].insert_many(topups)
    stripe_client = emulator.stripe_client()
    intents = set()
    for topup in topups:
        metadata = {"topup_id": topup["_id"], "user_id": topup["user_id"], "purpose": "wallet_topup"}
        intent = await stripe_client.v1.payment_intents.create_async(
            {"amount": amount, "currency": "usd", "metadata": metadata}
        )
        await emulator.control_async(f"payment_intents/{intent.id}/succeed")
        intents.add(intent.id)
    for event in reversed((await emulator.inspect_async("events", type="payment_intent.succeeded"))["data"]):
        if event["data"]["object"]["id"] in intents:
            await receive(services, json.dumps(event))
