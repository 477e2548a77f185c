from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Database
from app.services.webhooks import WebhookInbox
from tests.checkout_support import Marketplace, seed_catalog
from tests.conftest import make_settings
from tests.money_invariants import assert_money_invariants
from tests.services.reconciliation.support import MarketDay, marketplace_day, scripted_day
from tests.services.webhooks.support import inbox_for

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    # Events are handled when a test delivers them (no worker); one that failed is due again at
    # once (a chargeback handled beside its order's payment waits for it).
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
    )


@pytest.fixture
async def services(database: Database, settings: Settings) -> AsyncIterator[Services]:
    provider = StripeAdapter(settings)
    yield build_services(database, settings, provider)
    await provider.close()


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


@pytest.fixture
async def stripe_work_on_demand(emulator: EmulatorServer) -> AsyncIterator[EmulatorServer]:
    """Stripe's late work (a charge's balance transaction) happens when the test advances the
    emulator's clock, not on a timer, so the test knows when Stripe and the books agree."""
    await emulator.control_async("config", processing_delay_seconds=None)
    yield emulator
    await emulator.control_async("config", processing_delay_seconds=1.0)


@pytest.fixture
async def day(services: Services, inbox: WebhookInbox, stripe_work_on_demand: EmulatorServer) -> None:
    """A scripted day of top-ups, after which Stripe and the books agree."""
    await scripted_day(services, inbox, stripe_work_on_demand)
    await assert_money_invariants(services.database, services.provider)


@pytest.fixture
async def market(
    app: FastAPI, client: httpx.AsyncClient, stripe_work_on_demand: EmulatorServer, settings: Settings
) -> Marketplace:
    """The service over HTTP, with its own services, a catalog over two sellers and the emulator."""
    services: Services = app.state.services
    await seed_catalog(services.database)
    return Marketplace(services, client, stripe_work_on_demand, settings)


@pytest.fixture
async def market_day(market: Marketplace) -> MarketDay:
    """The scripted marketplace day, after which Stripe and the books agree."""
    return await marketplace_day(market)
