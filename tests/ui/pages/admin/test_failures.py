"""The admin console's failed transfers and refunds: a transfer Stripe refused for good, shown
with its reason; a card refund that failed at Stripe, given to the buyer's wallet instead
(confirmed), and gone from the list; support sees it but is offered no action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from tests.checkout_support import SELLER_A
from tests.conftest import TokenFactory, eventually_found
from tests.ui.browsing import sign_in
from tests.ui.market import LiveMarket

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

BUYER = "buyer-ui"
BUYERS = f"{BUYER}\u2019s"  # as the page writes it, with a typographic apostrophe


async def failed_refund(market: LiveMarket) -> str:
    """The mug paid with a card whose refunds fail, refunded by an admin: Stripe fails it."""
    await market.open(SELLER_A)
    order_id = await market.paid_order(BUYER, "prod_mug", payment_method="pm_card_refundFail")
    refund = await market.call(
        "POST",
        f"/admin/orders/{order_id}/refunds",
        "admin-2",
        Role.ADMIN,
        key="refund-1",
        json={"seller_id": SELLER_A, "reason": "asked by the buyer"},
    )
    await eventually_found(
        market.database, Collections.REFUNDS, {"_id": refund["refund_id"], "status": "failed"}
    )
    refund_id: str = refund["refund_id"]
    return refund_id


async def test_an_admin_gives_a_failed_card_refund_to_the_buyers_wallet(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
    database: Database,
) -> None:
    refund_id = await failed_refund(live_market)
    await sign_in(page, admin_token)

    await (
        page.get_by_role("navigation", name="Pages")
        .get_by_role("link", name="Failed transfers and refunds")
        .click()
    )
    await expect(page.get_by_text("No transfer to a seller has failed.")).to_be_visible()
    row = (
        page.get_by_role("table", name="Failed refunds, newest first")
        .get_by_role("row")
        .filter(has_text=refund_id)
    )
    await expect(row.locator("td[data-label='Why it failed']")).to_have_text("expired_or_canceled_card")
    await expect(row.locator("td[data-label='Card part']")).to_have_text("$18.00")

    await row.get_by_label("Note").fill("Card expired; the buyer agreed to wallet credit")
    await row.get_by_role("button", name="Give to wallet").click()
    dialog = page.get_by_role("dialog", name=f"Give $18.00 to {BUYERS} wallet?")
    await dialog.get_by_role("button", name="Cancel").click()
    assert (await database[Collections.REFUNDS].find_one({"_id": refund_id}) or {})["status"] == "failed"

    await row.get_by_role("button", name="Give to wallet").click()
    await dialog.get_by_role("button", name="Give to wallet").click()
    done = page.locator("[data-outcome]")
    await expect(done).to_have_attribute("data-outcome", "retried_to_wallet")
    await expect(done).to_contain_text(f"$18.00 is in {BUYERS} wallet.")
    await expect(done).to_be_focused()
    await expect(page.get_by_text("No refund has failed.")).to_be_visible()

    wallet = await live_market.call("GET", "/wallet", BUYER, Role.BUYER)
    assert wallet["platform_balance"] == 1800, wallet
    await live_market.assert_invariants()


async def test_support_sees_a_failed_refund_but_is_offered_no_action(
    page: Page,
    live_market: LiveMarket,
    token: TokenFactory,
) -> None:
    refund_id = await failed_refund(live_market)
    await sign_in(page, token("support-ui", Role.SUPPORT))
    await page.goto("/ui/#/admin/failures")

    await expect(page.get_by_role("row").filter(has_text=refund_id)).to_contain_text(
        "expired_or_canceled_card"
    )
    await expect(page.get_by_role("button", name="Give to wallet")).to_have_count(0)


async def test_a_transfer_stripe_refused_for_good_shows_with_its_reason(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
    emulator: EmulatorServer,
    database: Database,
) -> None:
    await live_market.open(SELLER_A)
    order_id = await live_market.paid_order(BUYER, "prod_mug")
    await emulator.control_async(
        "faults", path_prefix="/v1/transfers", method="POST", status=400, code="transfers_not_allowed"
    )
    await live_market.call(
        "POST", f"/orders/{order_id}/confirm-delivery", BUYER, Role.BUYER, key="delivered", json={}
    )
    transfer = await eventually_found(
        database, Collections.SELLER_TRANSFERS, {"order_id": order_id, "status": "failed"}
    )
    await sign_in(page, admin_token)

    await page.goto("/ui/#/admin/overview")
    await expect(page.locator("[data-figure=failed_transfers]")).to_have_text("1")
    await page.get_by_role("link", name="Show the failed transfers").click()
    row = (
        page.get_by_role("table", name="Failed transfers, newest first")
        .get_by_role("row")
        .filter(has_text=transfer["_id"])
    )
    await expect(row.locator("td[data-label=Seller]")).to_have_text(SELLER_A)
    await expect(row.locator("td[data-label=Amount]")).to_have_text("$16.20")
    await expect(row.locator("td[data-label=Order]")).to_have_text(order_id)
    await expect(row.locator("td[data-label=Why]")).to_contain_text("(transfers_not_allowed)")
    await expect(page.get_by_text("No refund has failed.")).to_be_visible()
    await live_market.assert_invariants()
