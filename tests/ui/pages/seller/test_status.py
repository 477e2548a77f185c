"""The seller's "Verification status": a restricted seller sees what is due and what to do, and a
check with Stripe brings news a late webhook has not; readable at a phone's width."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Database
from tests.conftest import TokenFactory
from tests.ui.browsing import press_until_focused, sideways_overflow, sign_in
from tests.ui.sellers import account_in, seller_profile, verified_seller

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SELLER = "seller-ui"


async def test_a_restricted_seller_sees_what_is_due_once_checked_with_stripe(
    page: Page, token: TokenFactory, live_service: str, emulator: EmulatorServer, database: Database
) -> None:
    seller_token = token(SELLER, Role.SELLER)
    account = await verified_seller(live_service, emulator, database, seller_token, SELLER)
    await page.set_viewport_size({"width": 360, "height": 740})
    await emulator.control_async("delivery", paused=True)
    try:
        await emulator.control_async(f"accounts/{account}/restrict")
        await sign_in(page, seller_token)
        await (
            page.get_by_role("navigation", name="Pages")
            .get_by_role("link", name="Verification status")
            .click()
        )
        await expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
        await expect(page.get_by_text("Nothing: Stripe asks for nothing more.")).to_be_visible()

        check = page.get_by_role("button", name="Check with Stripe now")
        await press_until_focused(page, check)
        await page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Check with Stripe now?")
        await dialog.get_by_role("button", name="Check now").click()

        outcome = page.get_by_role("status").filter(has_text="Checked with Stripe")
        await expect(outcome).to_have_text("Checked with Stripe: your status is restricted.")
        await expect(outcome).to_be_focused()
    finally:
        await emulator.control_async("delivery", paused=False)

    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "restricted")
    await expect(page.locator(".next-step")).to_have_text(
        "Provide an identity document to Stripe now: payments to you are paused."
    )
    past_due = page.locator("[data-requirements=past_due]")
    await expect(past_due).to_contain_text("Past due: payments stay paused until these are provided")
    await expect(past_due.get_by_role("listitem")).to_have_text(
        ["individual verification document individual.verification.document"]
    )
    progress = await page.get_by_role("progressbar", name="Verification progress").get_attribute("value")
    assert progress is not None
    assert 0 <= int(progress) < 100
    can_receive = page.locator("dt", has_text="Can receive payments").locator(
        "xpath=following-sibling::dd[1]"
    )
    await expect(can_receive).to_have_text("No")
    assert await sideways_overflow(page) == 0
    await account_in(database, account, "restricted")


async def test_a_seller_who_has_not_started_is_sent_to_set_up_payments(
    page: Page, token: TokenFactory, database: Database
) -> None:
    await seller_profile(database, SELLER)
    await sign_in(page, token(SELLER, Role.SELLER))
    await page.goto("/ui/#/seller/status")

    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "not_started")
    await page.get_by_role("main").get_by_role("link", name="Set up payments").click()
    await expect(page.get_by_role("heading", name="Set up payments")).to_be_focused()


async def test_a_seller_reads_only_their_own_status(page: Page, token: TokenFactory) -> None:
    await sign_in(page, token(SELLER, Role.SELLER))
    await page.goto("/ui/#/admin/sellers/another-seller")

    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Nothing was found here")
    await expect(refusal).to_contain_text("404 not_found")
