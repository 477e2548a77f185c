"""Checkout through the real application (in process, over ASGI) against the Stripe emulator: the
MongoDB commands of a wallet-funded two-seller checkout and of a delivery confirmation with its
transfer, and checkout latency with 16 buyers at once, each beside a raw-database baseline (the
same order and escrow documents written by one plain transaction of inserts)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from pymongo.asynchronous.client_session import AsyncClientSession

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from bench.commands import CommandCounter
from stripe_emulator.testing import EmulatorServer

Report = Callable[[str, float, str], None]
SELLERS = ("bench_seller_a", "bench_seller_b")
ITEMS = [{"product_id": "bench_mug", "quantity": 2}, {"product_id": "bench_board", "quantity": 1}]
CONCURRENT_BUYERS = 16
ROUNDS = 6
# What issue 13 asks, in MongoDB commands.
GOALS = {"POST /checkout (wallet, two sellers)": 15, "POST /orders/{id}/confirm-delivery (one transfer)": 12}


def headers(services: Services, user_id: str, key: str | None = None) -> dict[str, str]:
    token = {"Authorization": f"Bearer {mint_token(services.settings, user_id, [Role.BUYER])}"}
    return {**token, "Idempotency-Key": key} if key else token


async def prepare(services: Services, emulator: EmulatorServer, buyers: int) -> None:
    """A catalog over two sellers who can receive transfers, buyers with wallet money, and money
    available on the platform's Stripe balance for the transfers of wallet-funded sales."""
    await services.database["products"].insert_many(
        [
            {
                "_id": "bench_mug",
                "seller_id": SELLERS[0],
                "title": "Mug",
                "price": {"amount": 1800, "currency": "usd"},
                "active": True,
            },
            {
                "_id": "bench_board",
                "seller_id": SELLERS[1],
                "title": "Board",
                "price": {"amount": 6999, "currency": "usd"},
                "active": True,
            },
        ]
    )
    for seller in SELLERS:
        account = await services.provider.create_connected_account(
            seller, f"{seller}@example.com", "US", idempotency_key=f"bench-account-{seller}"
        )
        await emulator.control_async(f"accounts/{account.id}/verify")
        await services.stripe_accounts.refresh(account.id, Actor.system("bench"))
    for index in range(buyers):
        fund = Move(Accounts.CARD, Accounts.buyer_wallet(f"bench-buyer-{index}"), 10**7, "usd")
        await services.ledger.post(entry(f"bench-wallet-{index}", EntryKind.TOPUP, [fund]))
    funding = await services.provider.create_topup_intent(
        "bench-funding", "bench", 99_999_999, "usd", idempotency_key="bench-funding"
    )
    await emulator.control_async(f"payment_intents/{funding.id}/succeed")
    await emulator.control_async("clock/advance", seconds=0)
    await emulator.control_async("balance/settle")


async def checkout(client: httpx.AsyncClient, services: Services, buyer: str) -> str:
    body = {"items": ITEMS, "currency": "usd", "use_wallet": True}
    answer = await client.post("/checkout", json=body, headers=headers(services, buyer, uuid.uuid4().hex))
    assert answer.status_code == 201, answer.text
    order_id: str = answer.json()["order_id"]
    return order_id


async def raw_order(services: Services, index: int) -> None:
    """The baseline: the order and its two escrows inserted in one transaction, nothing else."""
    order_id = f"raw-{uuid.uuid4().hex}-{index}"

    async def insert(session: AsyncClientSession) -> None:
        await services.database[Collections.ORDERS].insert_one(
            {"_id": order_id, "lines": ITEMS}, session=session
        )
        await services.database[Collections.ESCROWS].insert_many(
            [{"_id": f"{order_id}:{seller}", "order_id": order_id} for seller in SELLERS], session=session
        )

    await services.database.transaction(insert)


async def command_counts(client: httpx.AsyncClient, services: Services, counter: CommandCounter) -> None:
    commands = await counter.per_operation(3, lambda i: checkout(client, services, "bench-buyer-0"))
    _print("POST /checkout (wallet, two sellers)", commands)
    orders = [await checkout(client, services, "bench-buyer-1") for _ in range(3)]

    async def confirm(index: int) -> None:
        path = f"/orders/{orders[index]}/confirm-delivery"
        body = {"seller_id": SELLERS[0]}
        answer = await client.post(
            path, json=body, headers=headers(services, "bench-buyer-1", uuid.uuid4().hex)
        )
        assert answer.json()["escrows"][0]["status"] == "transferred", answer.text

    _print("POST /orders/{id}/confirm-delivery (one transfer)", await counter.per_operation(3, confirm))
    _print(
        "raw baseline: order + 2 escrows inserted in a transaction",
        await counter.per_operation(3, lambda i: raw_order(services, i)),
    )


def _print(name: str, commands: list[str]) -> None:
    goal = GOALS.get(name)
    verdict = "" if goal is None else f"(goal <= {goal}: {'met' if len(commands) <= goal else 'MISSED'})"
    print(f"{name:<52} {len(commands):>10.1f} commands {verdict}")
    print(f"{'':<8}{', '.join(commands)}")


async def concurrent_latency(client: httpx.AsyncClient, services: Services, report: Report) -> None:
    async def buyer_rounds(index: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
        latencies = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)
        return latencies

    calls: list[tuple[str, Callable[[int], Awaitable[object]]]] = [
        ("checkout", lambda i: checkout(client, services, f"bench-buyer-{i}")),
        ("raw baseline (order + escrows)", lambda i: raw_order(services, i)),
    ]
    for name, call in calls:
        runs = await asyncio.gather(*(buyer_rounds(i, call) for i in range(CONCURRENT_BUYERS)))
        latencies = sorted(latency for run in runs for latency in run)
        p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
        report(f"{name}, {CONCURRENT_BUYERS} concurrent buyers: p50", p50 * 1000, "ms")
        report(f"{name}, {CONCURRENT_BUYERS} concurrent buyers: p99", p99 * 1000, "ms")


async def run(
    client: httpx.AsyncClient,
    services: Services,
    emulator: EmulatorServer,
    counter: CommandCounter,
    report: Report,
) -> None:
    await prepare(services, emulator, CONCURRENT_BUYERS)
    await command_counts(client, services, counter)
    await concurrent_latency(client, services, report)
