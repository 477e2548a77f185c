"""The seller's "Set up payments": to Stripe's hosted onboarding (the emulator's page) and back,
waiting there until Stripe's signed webhook reaches the service and shows the seller active; an
expired link; a refused set-up."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from app.services.onboarding import STATUS_CHANGED
from tests.conftest import TokenFactory
from tests.services.audit.support import audit_documents
from tests.ui.browsing import sign_in
from tests.ui.sellers import onboarding_link, seller_profile

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SELLER = "seller-ui"
STRIPE_ONBOARDING = re.compile(r"/_emulator/onboarding/([A-Za-z0-9]+)$")


async def complete_stripe_onboarding(page: Page) -> None:
    """Stripe's page, as the seller fills it in."""
    await expect(page).to_have_url(STRIPE_ONBOARDING)
    await page.get_by_label(re.compile("Bank account number")).select_option("000123456789")
    await page.get_by_role("button", name="Submit verified details").click()


async def test_a_seller_sets_up_payments_with_stripe_and_comes_back_active(
    page: Page, token: TokenFactory, live_service: str, emulator: EmulatorServer, database: Database
) -> None:
    await seller_profile(database, SELLER)
    await sign_in(page, token(SELLER, Role.SELLER))

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Set up payments").click()
    await expect(page.get_by_role("heading", name="Set up payments")).to_be_focused()
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "not_started")
    go = page.get_by_role("button", name="Set up payments with Stripe")
    dialog = page.get_by_role("dialog", name="Go to Stripe?")
    await go.click()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert await database[Collections.STRIPE_ACCOUNTS].count_documents({}) == 0, "nothing asked of Stripe"

    await go.click()
    await dialog.get_by_role("button", name="Go to Stripe").click()
    await emulator.control_async("delivery", paused=True)  # Stripe's webhook comes late
    try:
        await complete_stripe_onboarding(page)
        await expect(page).to_have_url(f"{live_service}/ui/#/seller/setup?returned=1")
        await expect(page.get_by_text("Waiting for Stripe to confirm your details…")).to_be_visible()
        await expect(page.locator("[data-status]")).to_have_attribute("data-status", "onboarding")
    finally:
        await emulator.control_async("delivery", paused=False)

    welcome = page.get_by_role("status").filter(has_text="Welcome back")
    await expect(welcome).to_contain_text("Welcome back. Your status: active.")
    await expect(welcome).to_contain_text("Nothing to do: you can receive payments.")
    await expect(welcome).to_be_focused()
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    await expect(page.get_by_role("progressbar", name="Verification progress")).to_have_attribute(
        "value", "100"
    )
    await expect(page.get_by_text("Nothing: Stripe asks for nothing more.")).to_be_visible()
    account = await database[Collections.STRIPE_ACCOUNTS].find_one({"seller_id": SELLER})
    assert account is not None
    changes = await audit_documents(database, action=STATUS_CHANGED, **{"object.id": account["_id"]})
    assert {(c["actor"]["kind"], c["after"]["status"]) for c in changes} == {
        ("user", "onboarding"),
        ("webhook", "active"),
    }, "active came with Stripe's webhook, not from a read the page asked for"

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Verification status").click()
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    await expect(page.locator(".next-step")).to_have_text("Nothing to do: you can receive payments.")


async def test_an_expired_link_brings_the_seller_back_for_a_fresh_one(
    page: Page, token: TokenFactory, live_service: str, database: Database, emulator: EmulatorServer
) -> None:
    seller_token = token(SELLER, Role.SELLER)
    await seller_profile(database, SELLER)
    stale = await onboarding_link(live_service, seller_token, SELLER)
    match = STRIPE_ONBOARDING.search(stale["url"])
    assert match is not None
    await emulator.control_async(f"account_links/{match.group(1)}/expire")
    await sign_in(page, seller_token)

    await page.goto(stale["url"])

    await expect(page).to_have_url(f"{live_service}/ui/#/seller/setup?link=expired")
    await expect(page.get_by_text("That link to Stripe had expired or was already used.")).to_be_visible()
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "onboarding")
    await page.get_by_role("button", name="Continue with Stripe").click()
    await page.get_by_role("dialog", name="Go to Stripe?").get_by_role("button", name="Go to Stripe").click()
    await complete_stripe_onboarding(page)
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    assert STRIPE_ONBOARDING.search(page.url) is None


async def test_a_seller_whose_profile_lacks_a_country_is_told_what_to_do(
    page: Page, token: TokenFactory, database: Database
) -> None:
    await seller_profile(database, SELLER, country=None)
    await sign_in(page, token(SELLER, Role.SELLER))
    await page.goto("/ui/#/seller/setup")

    await page.get_by_role("button", name="Set up payments with Stripe").click()
    await page.get_by_role("dialog", name="Go to Stripe?").get_by_role("button", name="Go to Stripe").click()

    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Your marketplace profile lacks what Stripe needs")
    await expect(refusal).to_contain_text("has no valid country in their profile")
    await expect(refusal).to_contain_text("422 seller_profile_incomplete")
    await expect(refusal).to_be_focused()
    await expect(page).to_have_url(re.compile(r"/ui/#/seller/setup$"))
