from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Database
from app.services.webhooks import WebhookInbox
from tests.money_invariants import assert_money_invariants
from tests.services.reconciliation.support import scripted_day
from tests.services.webhooks.support import inbox_for

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


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
