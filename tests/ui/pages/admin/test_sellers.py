"""The admin console's sellers: found by verification status and by account id, paged, and one
seller's status in full; support reads it and is offered no check with Stripe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Database
from tests.conftest import TokenFactory
from tests.ui.browsing import sign_in
from tests.ui.sellers import account_in, verified_seller

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

ACTIVE = "seller-active"
RESTRICTED = "seller-restricted"


async def two_sellers(
    live_service: str, emulator: EmulatorServer, database: Database, token: TokenFactory
) -> dict[str, str]:
    """One active seller, and one Stripe restricted after verifying them; their account ids."""
    accounts = {
        seller: await verified_seller(live_service, emulator, database, token(seller, Role.SELLER), seller)
        for seller in (ACTIVE, RESTRICTED)
    }
    await emulator.control_async(f"accounts/{accounts[RESTRICTED]}/restrict")
    await account_in(database, accounts[RESTRICTED], "restricted")
    return accounts


async def test_an_admin_finds_a_restricted_seller_by_status_and_reads_what_is_due(
    page: Page,
    admin_token: str,
    token: TokenFactory,
    live_service: str,
    emulator: EmulatorServer,
    database: Database,
) -> None:
    accounts = await two_sellers(live_service, emulator, database, token)
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Sellers").click()
    await expect(page.get_by_text("2 shown, the whole list.")).to_be_visible()
    await page.get_by_label("Status").select_option("restricted")
    await page.get_by_role("button", name="Show sellers").click()
    await expect(page.get_by_role("link", name=ACTIVE)).to_be_hidden()
    assert page.url.endswith("#/admin/sellers?status=restricted")
    row = page.get_by_role("row").filter(has_text=RESTRICTED)
    await expect(row).to_contain_text(accounts[RESTRICTED])
    await expect(row).to_contain_text("restricted")
    await expect(row).to_contain_text("1 past due")
    await expect(page.get_by_text("1 shown, the whole list.")).to_be_visible()

    await row.get_by_role("link", name=RESTRICTED).click()
    await expect(page.get_by_role("heading", name=f"Seller {RESTRICTED}")).to_be_focused()
    await expect(page.locator(".next-step")).to_have_text(
        "Provide an identity document to Stripe now: payments to you are paused."
    )
    await expect(page.locator("[data-requirements=past_due]")).to_contain_text(
        "individual.verification.document"
    )
    await expect(page.get_by_role("button", name="Check with Stripe now")).to_be_visible()
    await page.get_by_role("link", name="Audit trail of this account").click()
    await expect(page.get_by_role("row").filter(has_text="seller_account.status_changed")).to_have_count(3)


async def test_an_admin_finds_a_seller_by_account_id_and_pages_through_the_list(
    page: Page,
    admin_token: str,
    token: TokenFactory,
    live_service: str,
    emulator: EmulatorServer,
    database: Database,
) -> None:
    accounts = await two_sellers(live_service, emulator, database, token)
    await sign_in(page, admin_token)

    await page.goto("/ui/#/admin/sellers")
    await page.get_by_label("Seller or account").fill(accounts[ACTIVE])
    await page.get_by_role("button", name="Show sellers").click()
    await expect(page.get_by_text("1 shown, the whole list.")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text=ACTIVE)).to_contain_text("active")
    await page.get_by_label("Status").select_option("restricted")
    await page.get_by_role("button", name="Show sellers").click()
    await expect(page.get_by_text("No seller matches these filters.")).to_be_visible()

    await page.goto("/ui/#/admin/sellers?limit=1")
    links = page.get_by_role("row").get_by_role("link")
    # Newest account first; both accounts may be of the same second (Stripe's `created`), which
    # the list orders by account id, so the first page may show either.
    await expect(links).to_have_count(1)
    first = await links.first.inner_text()
    (second,) = {RESTRICTED, ACTIVE} - {first}
    await page.get_by_role("button", name="Load more").click()
    await expect(links).to_have_text([first, second])
    await expect(page.get_by_text("2 shown, the whole list.")).to_be_visible()


async def test_support_reads_a_sellers_status_but_is_offered_no_check_with_stripe(
    page: Page, token: TokenFactory, live_service: str, emulator: EmulatorServer, database: Database
) -> None:
    await verified_seller(live_service, emulator, database, token(ACTIVE, Role.SELLER), ACTIVE)
    await sign_in(page, token("support-ui", Role.SUPPORT))

    await page.goto(f"/ui/#/admin/sellers/{ACTIVE}")
    await expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    await expect(page.get_by_role("button", name="Check with Stripe now")).to_have_count(0)
