"""The marketplace of `tests.checkout_support`, with a seller who sold something and whose
money reached their Stripe balance, ready to be paid out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.container import Services
from tests.checkout_support import Marketplace, seed_catalog
from tests.conftest import make_settings

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        # Every balance page reads Stripe (no cache), and gives up on it after a second.
        seller_balance_cache_seconds=0,
        seller_balance_stripe_timeout_seconds=1,
    )


@pytest.fixture
async def market(
    app: FastAPI, client: httpx.AsyncClient, emulator: EmulatorServer, settings: Settings
) -> AsyncIterator[Marketplace]:
    services: Services = app.state.services
    await seed_catalog(services.database)
    return Marketplace(services, client, emulator, settings)
