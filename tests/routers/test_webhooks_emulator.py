"""End to end: the emulator signs and delivers a Connect event over HTTP to the running service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import stripe
import uvicorn

from app.config import Settings
from app.db import Collections, Database
from app.main import create_app
from tests.conftest import STRIPE_TEST_KEY, make_settings
from tests.mongo_server import free_port

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(mongodb_uri, stripe_api_base=emulator.base_url, webhook_poll_seconds=0.05)


@pytest.fixture
async def service_url(settings: Settings, emulator: EmulatorServer) -> AsyncIterator[str]:
    """The service under uvicorn in this event loop, worker included, as the emulator's webhook target."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the service did not start"
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    await emulator.control_async("config", webhook_url=f"{url}/webhooks/stripe")
    try:
        yield url
    finally:
        await emulator.control_async("config", webhook_url=None)
        server.should_exit = True
        await serving


async def until_found(database: Database, collection: str, query: dict[str, Any]) -> dict[str, Any]:
    """The service processes in the background: poll MongoDB for up to ten seconds."""
    for _ in range(200):
        document = await database[collection].find_one(query)
        if document is not None:
            return document
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing in {collection} matched {query}")


async def test_an_account_verified_in_the_emulator_reaches_stripe_accounts(
    service_url: str, emulator: EmulatorServer, database: Database
) -> None:
    http_client = stripe.HTTPXClient()
    stripe_client = stripe.StripeClient(
        STRIPE_TEST_KEY, base_addresses={"api": emulator.base_url}, http_client=http_client
    )
    account = await stripe_client.v1.accounts.create_async(
        {"type": "express", "country": "US", "metadata": {"seller_id": "seller-e2e"}}
    )
    await http_client.close_async()

    await emulator.control_async(f"accounts/{account.id}/verify")

    event = await until_found(
        database, Collections.WEBHOOK_EVENTS, {"account": account.id, "status": "processed"}
    )
    assert event["type"] == "account.updated"
    assert event["endpoint"] == "connect"
    snapshot = await database[Collections.STRIPE_ACCOUNTS].find_one({"_id": account.id})
    assert snapshot is not None
    assert snapshot["seller_id"] == "seller-e2e"
    assert snapshot["charges_enabled"] is True
    assert snapshot["payouts_enabled"] is True
