"""End to end: the emulator signs and delivers a Connect event over HTTP to the running service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import stripe

from app.config import Settings
from app.db import Collections, Database
from tests.conftest import STRIPE_TEST_KEY, eventually_found

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(live_settings: Settings) -> Settings:
    return live_settings


async def test_an_account_verified_in_the_emulator_reaches_stripe_accounts(
    live_service: str, emulator: EmulatorServer, database: Database
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

    event = await eventually_found(
        database, Collections.WEBHOOK_EVENTS, {"account": account.id, "status": "processed"}
    )
    assert event["type"] == "account.updated"
    assert event["endpoint"] == "connect"
    snapshot = await database[Collections.STRIPE_ACCOUNTS].find_one({"_id": account.id})
    assert snapshot is not None
    assert snapshot["seller_id"] == "seller-e2e"
    assert snapshot["charges_enabled"] is True
    assert snapshot["payouts_enabled"] is True
