"""The simulated marketplace: two instances of the service (separate clients, separate in-process
lock tables) on one database, the emulator, a catalog over three sellers, buyers, and the
simulated clock that auto-release and Stripe's own time follow."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.container import Services
from app.db import connect
from app.main import create_app
from stripe_emulator.testing import EmulatorServer
from tests.checkout_support import PRODUCTS, Marketplace, seed_catalog
from tests.conftest import make_settings
from tests.payouts_support import CLOSED_BANK, PAYING_BANK

# A third seller, not onboarded when the day starts: their sales wait for their account.
LATE_SELLER = "seller_c"
LATE_PRODUCT = ("prod_lamp", LATE_SELLER, "Lamp", 2599)
SELLERS = (PRODUCTS[0][1], PRODUCTS[2][1], LATE_SELLER)
# The first seller's bank pays, the second's is closed (its payouts fail).
BANKS = {SELLERS[0]: PAYING_BANK, SELLERS[1]: CLOSED_BANK}
BUYERS = tuple(f"buyer_{index}" for index in range(6))
CURRENCY = "usd"


def sim_settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    """The service's settings for a run: its own database, Stripe retries without long waits, a
    failed webhook event due again at once, no background work (the simulation drives it all)."""
    return make_settings(
        mongodb_uri,
        mongodb_database=f"sim_{uuid.uuid4().hex[:12]}",
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
        stripe_retry_max_wait_seconds=0.05,
        stripe_timeout_seconds=1.0,
        stripe_max_network_retries=1,
        legacy_wallet_recheck_seconds=0,
        log_level="ERROR",
    )


@dataclass
class SimClock:
    """The simulated time: real time plus what the simulation let pass."""

    offset: timedelta = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class World:
    """Everything a step may act on, and what the simulation remembers of what it did (in the
    order it did it, so a seed picks the same objects every run)."""

    markets: tuple[Marketplace, Marketplace]
    emulator: EmulatorServer
    settings: Settings
    clock: SimClock = field(default_factory=SimClock)
    # Stripe stamps objects in whole seconds: a second's margin keeps the first ones inside the day.
    opened_at: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(seconds=1))
    orders: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[str] = field(default_factory=list)
    # Each legacy wallet the legacy system was given: its user and its balance as written.
    legacy_wallets: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    counter: int = 0

    @property
    def market(self) -> Marketplace:
        return self.markets[0]

    @property
    def services(self) -> Services:
        return self.markets[0].services

    def key(self, prefix: str) -> str:
        """A fresh, deterministic Idempotency-Key."""
        self.counter += 1
        return f"{prefix}-{self.counter}"


@asynccontextmanager
async def opened_world(mongodb_uri: str, emulator: EmulatorServer) -> AsyncIterator[World]:
    """A fresh database and an emptied emulator, both instances started, the catalog seeded and
    the first two sellers onboarded; the database dropped afterwards."""
    emulator.reset()
    # Stripe's asynchronous work happens only when the simulation moves the clock; the emulator's
    # own configuration is given back afterwards (a test session shares it).
    configured = await emulator.inspect_async("config")
    await emulator.control_async("config", processing_delay_seconds=None, webhook_url=None)
    settings = sim_settings(mongodb_uri, emulator)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(
            emulator.control_async,
            "config",
            processing_delay_seconds=configured["processing_delay_seconds"],
            webhook_url=configured["webhook_url"],
        )
        first = await stack.enter_async_context(_instance(settings, emulator))
        second = await stack.enter_async_context(_instance(settings, emulator))
        second.delivered = first.delivered
        world = World((first, second), emulator, settings)
        try:
            await _open_shop(world)
            yield world
        finally:
            database = connect(settings.mongodb_uri, settings.mongodb_database)
            await database.client.drop_database(settings.mongodb_database)
            await database.close()


@asynccontextmanager
async def _instance(settings: Settings, emulator: EmulatorServer) -> AsyncIterator[Marketplace]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            yield Marketplace(app.state.services, client, emulator, settings)


async def _open_shop(world: World) -> None:
    database = world.services.database
    await seed_catalog(database)
    _, seller, title, amount = LATE_PRODUCT
    await database["products"].insert_one(
        {
            "_id": LATE_PRODUCT[0],
            "seller_id": seller,
            "title": title,
            "price": {"amount": amount, "currency": CURRENCY},
            "active": True,
        }
    )
    for seller_id, bank in BANKS.items():
        account = await world.services.provider.create_connected_account(
            seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
        )
        await world.emulator.control_async(f"accounts/{account.id}/verify", account_number=bank)
        world.accounts[seller_id] = account.id
    late = await world.services.provider.create_connected_account(
        LATE_SELLER, f"{LATE_SELLER}@example.com", "US", idempotency_key=f"account:{LATE_SELLER}"
    )
    world.accounts[LATE_SELLER] = late.id
    await world.market.pump()
