"""One load run: the stack started, sellers onboarded at Stripe, the day played for a bounded time,
then everything in flight settled (webhooks delivered and processed, Stripe's pending work done,
the janitor and the transfer retries passed) and every invariant of the simulation checked over
the whole database and what the emulator holds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import stripe

from app.container import Services, running_services
from app.db import Collections
from app.domain.audit import Actor
from app.domain.webhooks import EventStatus
from app.services.checkout import run_transfer_retries
from app.services.payment_operations import run_operations_janitor
from load.stack import Stack, running_stack
from load.stats import Stats
from load.traffic import CURRENCY, Day, play
from sim.invariants import check_marketplace

# Each seller's prices, in cents: wallets then hold cents, so a wallet often pays all but a few
# cents of an order, and one item alone is below Stripe's minimum charge (50 cents).
PRICES = (45, 1_349, 3_999)
QUIET_ROUNDS = 3
QUIET_TIMEOUT_SECONDS = 180.0
POLL_SECONDS = 0.2
# Events still to be handled: delivered but not processed yet, or failed and due again.
UNSETTLED = [EventStatus.PENDING, EventStatus.PROCESSING, EventStatus.FAILED]


@dataclass
class LoadResult:
    seconds: float
    users: int
    sellers: int
    stats: Stats
    failures: list[str]
    deliveries: Counter[str] = field(default_factory=Counter)
    invariants: list[str] = field(default_factory=list)
    money_moved: int = 0
    quiet_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.invariants)


def seller_names(users: int) -> list[str]:
    return [f"load_seller_{index}" for index in range(max(2, users // 4))]


async def run_load(seconds: float, users: int, seed: int = 1, mongodb_uri: str | None = None) -> LoadResult:
    sellers = seller_names(users)
    buyers = [f"load_buyer_{index}" for index in range(users)]
    result = LoadResult(seconds, users, len(sellers), Stats(), [])
    with running_stack(mongodb_uri) as stack:
        async with (
            running_services(stack.settings) as services,
            httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api,
            httpx.AsyncClient(base_url=stack.emulator_url, timeout=60) as emulator,
        ):
            try:
                products = await _open_shop(services, sellers)
                accounts = await _onboard(services, emulator, sellers)
                day = Day(api, emulator, stack.settings, products, time.monotonic() + seconds, result.stats)
                await play(day, buyers, sellers, seed)
                result.failures += day.failures
                quiet = time.monotonic()
                await _quiesce(services, emulator, result)
                result.quiet_seconds = time.monotonic() - quiet
                result.deliveries = await _deliveries(emulator)
                result.invariants = await _check(services, stack, accounts.values())
                result.money_moved = await _money_moved(services)
            except (AssertionError, TimeoutError) as broken:
                result.failures.append(f"{type(broken).__name__}: {broken}")
                result.failures.append(f"the service's log ends with:\n{_log_tail(stack)}")
            finally:
                await services.database.client.drop_database(stack.settings.mongodb_database)
    return result


async def _open_shop(services: Services, sellers: list[str]) -> dict[str, list[str]]:
    products = {seller: [f"prod_{seller}_{index}" for index in range(len(PRICES))] for seller in sellers}
    await services.database["products"].insert_many(
        [
            {
                "_id": product,
                "seller_id": seller,
                "title": f"Item {index} of {seller}",
                "price": {"amount": PRICES[index], "currency": CURRENCY},
                "active": True,
            }
            for seller, ids in products.items()
            for index, product in enumerate(ids)
        ]
    )
    return products


async def _onboard(services: Services, emulator: httpx.AsyncClient, sellers: list[str]) -> dict[str, str]:
    """Each seller's connected account, verified at Stripe with a paying bank; the service learns
    it from Stripe's events, as in production."""
    accounts = {}
    for seller in sellers:
        account = await services.provider.create_connected_account(
            seller, f"{seller}@example.com", "US", idempotency_key=f"account:{seller}"
        )
        (await emulator.post(f"/_emulator/accounts/{account.id}/verify", json={})).raise_for_status()
        accounts[seller] = account.id
    await _until(lambda: _sellers_active(services, sellers), "the sellers' accounts were never active")
    return accounts


async def _sellers_active(services: Services, sellers: list[str]) -> bool:
    active = await services.database[Collections.STRIPE_ACCOUNTS].count_documents(
        {"seller_id": {"$in": sellers}, "status": "active"}
    )
    return active == len(sellers)


async def _quiesce(services: Services, emulator: httpx.AsyncClient, result: LoadResult) -> None:
    """Everything in flight finished: Stripe's pending work done and its funds available, every
    event delivered and processed, unknown outcomes settled by the janitor, waiting transfers
    sent; a few rounds, as each may make Stripe send more."""
    for _ in range(QUIET_ROUNDS):
        await emulator.post("/_emulator/clock/advance", json={"seconds": 0})
        await emulator.post("/_emulator/balance/settle", json={})
        await _until(lambda: _delivered(emulator), "the emulator never finished delivering")
        await _until(lambda: _processed(services), "webhook events were never processed")
        await run_operations_janitor(services.database, services.payment_operations, timedelta(0))
        await run_transfer_retries(services.database, services.seller_transfers, timedelta(0))
        await services.seller_recovery.retry_pending(Actor.job("recover_chargebacks"), timedelta(0))
    dead = await services.database[Collections.WEBHOOK_EVENTS].count_documents(
        {"status": EventStatus.DEAD_LETTER}
    )
    if dead:
        result.failures.append(f"{dead} webhook events went to dead_letter")


async def _delivered(emulator: httpx.AsyncClient) -> bool:
    status = (await emulator.get("/_emulator/delivery")).json()
    return not (status["queued"] or status["in_flight"] or status["held"])


async def _processed(services: Services) -> bool:
    unsettled = await services.database[Collections.WEBHOOK_EVENTS].count_documents(
        {"status": {"$in": UNSETTLED}}
    )
    return unsettled == 0


async def _until(condition: Any, failure: str) -> None:
    deadline = time.monotonic() + QUIET_TIMEOUT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{failure} within {QUIET_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


async def _deliveries(emulator: httpx.AsyncClient) -> Counter[str]:
    log = (await emulator.get("/_emulator/deliveries")).json()["data"]
    sent = Counter(record["event_id"] for record in log if record["delivered"])
    return Counter(
        {
            "events": len(sent),
            "delivered": sum(sent.values()),
            "delivered more than once": sum(1 for count in sent.values() if count > 1),
            "failed attempts": sum(1 for record in log if not record["delivered"]),
        }
    )


async def _check(services: Services, stack: Stack, accounts: Iterable[str]) -> list[str]:
    http_client = stripe.HTTPXClient()
    client = stripe.StripeClient(
        stack.settings.stripe_secret_key.get_secret_value(),
        http_client=http_client,
        base_addresses={"api": stack.emulator_url},
    )
    try:
        return await check_marketplace(services, client, accounts)
    finally:
        await http_client.close_async()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


async def _money_moved(services: Services) -> int:
    pipeline: list[dict[str, Any]] = [
        {"$match": {"amount": {"$gt": 0}}},
        {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
    ]
    rows = [row async for row in await services.database[Collections.LEDGER_POSTINGS].aggregate(pipeline)]
    return int(rows[0]["total"]) if rows else 0


def _log_tail(stack: Stack, lines: int = 40) -> str:
    log = stack.logs / "api.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
