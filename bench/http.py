"""Figures through the real application (in process, over ASGI): the wallet's MongoDB commands
and latency, the top-up request against the Stripe emulator, and webhook intake and processing."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import stripe

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.webhooks import drain
from bench.commands import CommandCounter
from bench.events import store_paid_topups, succeeded_event, topup_intent
from bench.settings import WEBHOOK_SECRET
from tests.legacy_wallets import insert_legacy_wallet

Report = Callable[[str, float, str], None]
EVENTS = 200

# What issues 10 and 18 ask of the money path, in MongoDB commands. A top-up request records
# its Stripe call with the opening (one bulkWrite), and completes the call in the transaction
# that attaches the PaymentIntent, with the opening's audit record (one bulkWrite after the
# top-up's update: a transaction cannot start with a bulkWrite on SecantusDB, which refuses
# its readConcern).
GOALS = {
    "GET /wallet": 3,
    "POST /wallet/topup_request": 6,
    "top-up credit processing": 6,
    "POST /webhooks/stripe": 2,
}


def print_commands(name: str, commands: list[str], per: int = 1) -> None:
    goal = next((goal for prefix, goal in GOALS.items() if name.startswith(prefix)), None)
    count = len(commands) / per
    verdict = "" if goal is None else f"(goal <= {goal}: {'met' if count <= goal else 'MISSED'})"
    print(f"{name:<52} {count:>10.1f} commands {verdict}")
    shown = [f"{c} x{n / per:g}" for c, n in Counter(commands).items()] if per > 1 else commands
    print(f"{'':<8}{', '.join(shown)}")


async def timed(count: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies


def buyer_headers(services: Services, user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(services.settings, user_id, [Role.BUYER])}"}


async def wallet_reads(
    client: httpx.AsyncClient, services: Services, counter: CommandCounter, report: Report
) -> None:
    fund = Move(Accounts.CARD, Accounts.buyer_wallet("bench"), 5000, "usd")
    await services.ledger.post(entry("bench-fund", EntryKind.TOPUP, [fund]))
    await insert_legacy_wallet(services.database, "bench-migrated", "12.50")
    await services.migration.migrate_user("bench-migrated", Actor.user("bench-migrated"))
    await insert_legacy_wallet(services.database, "bench-legacy", "7.25")
    for user, kind in (
        ("bench", "no legacy wallet"),
        ("bench-migrated", "migrated"),
        ("bench-legacy", "legacy"),
    ):
        headers = buyer_headers(services, user)

        async def read_wallet(_: int, headers: dict[str, str] = headers) -> object:
            return await client.get("/wallet", headers=headers)

        commands = await counter.per_operation(3, read_wallet)
        print_commands(f"GET /wallet ({kind})", commands)
    headers = buyer_headers(services, "bench")
    latencies = await timed(200, lambda: client.get("/wallet", headers=headers))
    report("GET /wallet p50 latency", statistics.median(latencies) * 1000, "ms")
    report("GET /wallet p95 latency", statistics.quantiles(latencies, n=20)[18] * 1000, "ms")


async def topup_requests(client: httpx.AsyncClient, services: Services, counter: CommandCounter) -> None:
    """A top-up request of a buyer whose wallet is in use: the PaymentIntent is made by the emulator."""
    headers = buyer_headers(services, "bench")

    async def request(index: int) -> None:
        keyed = {**headers, "Idempotency-Key": f"bench-topup-{uuid.uuid4().hex}"}
        response = await client.post(
            "/wallet/topup_request", json={"amount": 1000, "currency": "usd"}, headers=keyed
        )
        assert response.status_code == 201, response.text

    print_commands("POST /wallet/topup_request", await counter.per_operation(3, request))


async def webhook_intake_commands(
    client: httpx.AsyncClient, services: Services, counter: CommandCounter
) -> None:
    """What the intake does before its 200: the signature checked and the event stored."""
    payloads = [succeeded_event(topup_intent(f"tu_{uuid.uuid4().hex[:24]}", "bench", 100)) for _ in range(3)]

    async def deliver(index: int) -> None:
        payload = payloads[index]
        signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        answer = await client.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text

    print_commands("POST /webhooks/stripe (intake, before its 200)", await counter.per_operation(3, deliver))
    await services.database[Collections.WEBHOOK_EVENTS].delete_many(
        {"_id": {"$in": [json.loads(payload)["id"] for payload in payloads]}}
    )


async def webhook_intake_and_processing(services: Services, counter: CommandCounter, report: Report) -> None:
    started = time.perf_counter()
    await store_paid_topups(services, EVENTS)
    report(
        "webhook intake (verify + store), sequential", EVENTS / (time.perf_counter() - started), "events/s"
    )
    with counter.counted() as commands:
        outcomes = await drain(services.webhook_processor)
    assert len(outcomes) == EVENTS
    print_commands("top-up credit processing, per event (claim included)", commands, per=EVENTS)


async def run(client: httpx.AsyncClient, services: Services, counter: CommandCounter, report: Report) -> None:
    await wallet_reads(client, services, counter, report)
    await topup_requests(client, services, counter)
    await webhook_intake_commands(client, services, counter)
    await webhook_intake_and_processing(services, counter, report)
