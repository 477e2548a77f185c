"""A Stripe emulator for the session, emptied before each test, and a real SDK client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import stripe

from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.testing import BackgroundServer, EmulatorServer
from tests.stripe_emulator.support import WebhookReceiver, close

# Stripe's asynchronous work (a charge's balance transaction, a refund's outcome) waits for the
# clock or a control, so each test decides when it happens; tests of the timers set a delay.
SETTINGS = EmulatorSettings(
    delivery_max_attempts=3, delivery_backoff_seconds=0.05, processing_delay_seconds=None
)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(SETTINGS) as server:
        yield server


@pytest.fixture(autouse=True)
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator, emptied and with its settings restored for each test."""
    emulator_server.reset()
    emulator_server.configure(
        webhook_url=None,
        delivery_max_attempts=SETTINGS.delivery_max_attempts,
        delivery_backoff_seconds=SETTINGS.delivery_backoff_seconds,
        delivery_duplicate_rate=SETTINGS.delivery_duplicate_rate,
        delivery_reorder_window=SETTINGS.delivery_reorder_window,
        settlement=SETTINGS.settlement,
        processing_delay_seconds=SETTINGS.processing_delay_seconds,
    )
    return emulator_server


@pytest.fixture(scope="session")
async def stripe_client(emulator_server: EmulatorServer) -> AsyncIterator[stripe.StripeClient]:
    http_client = stripe.HTTPXClient()
    yield emulator_server.stripe_client(http_client=http_client)
    await close(http_client)


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with BackgroundServer(receiver.app()) as server:
        receiver.server = server
        yield receiver


@pytest.fixture
def receiver(receiver_server: WebhookReceiver, emulator: EmulatorServer) -> WebhookReceiver:
    """A webhook endpoint the emulator delivers to during this test."""
    receiver_server.clear()
    emulator.configure(webhook_url=receiver_server.url)
    return receiver_server
