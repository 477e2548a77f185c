"""HTTP-level figures through the real application (in process, over ASGI): the wallet read path
and webhook intake and processing."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import stripe

from app.auth import Role, mint_token
from app.config import Settings
from app.container import Services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.main import create_app
from app.services.webhooks import WebhookProcessor
from tests.stripe_events import stripe_object

WEBHOOK_SECRET = "whsec_bench"
EVENTS = 200

Report = Callable[[str, float, str], None]


def bench_settings(uri: str) -> Settings:
    return Settings(
        _env_file=None,
        mongodb_uri=uri,
        mongodb_database=f"bench_http_{uuid.uuid4().hex[:8]}",
        stripe_secret_key="sk_test_bench",
        stripe_api_base="http://127.0.0.1:9",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret="whsec_bench_connect",
        jwt_secret="bench-secret-that-is-long-enough-0123456789",
        log_level="ERROR",
        webhook_worker_enabled=False,
        jobs_enabled=False,
    )


def topup_intent(user_id: str, amount: int) -> dict[str, Any]:
    """A succeeded top-up PaymentIntent as Stripe sends it, every field included."""
    return stripe_object(
        "payment_intent",
        id=f"pi_{uuid.uuid4().hex[:24]}",
        amount=amount,
        amount_received=amount,
        currency="usd",
        status="succeeded",
        metadata={
            "topup_id": f"tu_{uuid.uuid4().hex[:24]}",
            "user_id": user_id,
            "purpose": "wallet_topup",
        },
    )


def succeeded_event(intent: dict[str, Any]) -> dict[str, Any]:
    return {
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


async def timed(count: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies


async def wallet_reads(client: httpx.AsyncClient, headers: dict[str, str], report: Report) -> None:
    latencies = await timed(200, lambda: client.get("/wallet", headers=headers))
    report("GET /wallet p50 latency", statistics.median(latencies) * 1000, "ms")
    report("GET /wallet p95 latency", statistics.quantiles(latencies, n=20)[18] * 1000, "ms")


async def webhook_intake(client: httpx.AsyncClient, services: Services, report: Report) -> None:
    intents = [topup_intent(f"buyer-{index}", 100) for index in range(EVENTS)]
    await services.database["topups"].insert_many(
        [
            {
                "_id": i["metadata"]["topup_id"],
                "user_id": i["metadata"]["user_id"],
                "amount": 100,
                "currency": "usd",
                "status": "requires_payment",
            }
            for i in intents
        ]
    )
    started = time.perf_counter()
    for intent in intents:
        payload = json.dumps(succeeded_event(intent))
        signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        await client.post("/webhooks/stripe", content=payload, headers={"Stripe-Signature": signature})
    report(
        "webhook intake (verify + store), sequential", EVENTS / (time.perf_counter() - started), "events/s"
    )


async def webhook_processing(processor: WebhookProcessor, report: Report) -> None:
    """Half the stored events by one worker, the other half by four at once."""
    for workers in (1, 4):
        started = time.perf_counter()
        done = await asyncio.gather(
            *(processor.process_due(limit=EVENTS // 2 // workers) for _ in range(workers))
        )
        processed = sum(len(batch) for batch in done)
        report(
            f"webhook processing (top-up credit), {workers} worker(s)",
            processed / (time.perf_counter() - started),
            "events/s",
        )


async def run(uri: str, report: Report) -> None:
    settings = bench_settings(uri)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        fund = Move(Accounts.CARD, Accounts.buyer_wallet("bench"), 5000, "usd")
        await services.ledger.post(entry("bench-fund", EntryKind.TOPUP, [fund]))
        headers = {"Authorization": f"Bearer {mint_token(settings, 'bench', [Role.BUYER])}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            await wallet_reads(client, headers, report)
            await webhook_intake(client, services, report)
        await webhook_processing(services.webhook_processor, report)
        await services.database.client.drop_database(settings.mongodb_database)
