from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from tests.adapters.emulator_helpers import adapter_settings, make_adapter

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return adapter_settings(mongodb_uri, emulator)


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[StripeAdapter]:
    adapter = make_adapter(settings)
    yield adapter
    await adapter.close()
