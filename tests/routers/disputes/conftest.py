"""The marketplace of `tests.checkout_support`, served in this test's event loop, for disputes."""

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
    # A failed event is due again at once: a chargeback processed beside its order's payment
    # event waits for it, and the next pump delivers it.
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
    )


@pytest.fixture
async def market(
    app: FastAPI, client: httpx.AsyncClient, emulator: EmulatorServer, settings: Settings
) -> AsyncIterator[Marketplace]:
    services: Services = app.state.services
    await seed_catalog(services.database)
    return Marketplace(services, client, emulator, settings)
