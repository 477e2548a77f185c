"""The admin console's top-ups to review: a top-up paid with another amount than it asked for is
listed with why, and the list follows the status chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import stripe
from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from tests.conftest import STRIPE_TEST_KEY, TokenFactory, bearer, eventually_found
from tests.stripe_events import stripe_event
from tests.ui.browsing import deliver, sign_in

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


async def topup_paid_short(service_url: str, emulator: EmulatorServer, buyer_token: str) -> str:
    """A top-up of 25.00 whose PaymentIntent reports 20.00 received, so the service sends it to review."""
    async with httpx.AsyncClient(base_url=service_url) as client:
        response = await client.post(
            "/wallet/topup_request",
            json={"amount": 2500, "currency": "usd"},
            headers={**bearer(buyer_token), "Idempotency-Key": "ui-topup-paid-short"},
        )
    response.raise_for_status()
    topup = response.json()
    http_client = stripe.HTTPXClient()
    stripe_client = stripe.StripeClient(
        STRIPE_TEST_KEY, base_addresses={"api": emulator.base_url}, http_client=http_client
    )
    intent = await stripe_client.v1.payment_intents.retrieve_async(topup["payment_intent_id"])
    await http_client.close_async()
    paid_short = {**intent.to_dict(), "status": "succeeded", "amount_received": 2000}
    await deliver(service_url, stripe_event("payment_intent.succeeded", paid_short))
    return str(topup["topup_id"])


async def test_an_admin_sees_a_top_up_that_needs_review_and_why(
    page: Page,
    admin_token: str,
    token: TokenFactory,
    live_service: str,
    emulator: EmulatorServer,
    database: Database,
) -> None:
    topup_id = await topup_paid_short(live_service, emulator, token("buyer-ui", Role.BUYER))
    await eventually_found(database, Collections.TOPUPS, {"_id": topup_id, "status": "needs_review"})
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Top-ups to review").click()
    await expect(page.get_by_label("Status")).to_have_value("needs_review")
    row = page.get_by_role("row").filter(has_text=topup_id)
    await expect(row).to_contain_text("buyer-ui")
    await expect(row).to_contain_text("$25.00")
    await expect(row).to_contain_text("paid 2000 usd, expected 2500 usd")

    await page.get_by_label("Status").select_option("succeeded")
    await page.get_by_role("button", name="Show top-ups").click()
    await expect(page.get_by_text("No top-up has this status.")).to_be_visible()
    assert page.url.endswith("#/admin/topups?status=succeeded")
