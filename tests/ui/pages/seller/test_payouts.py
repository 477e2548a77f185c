"""The seller's money pages: a released sale in their balances, a payout requested with
confirmation and followed until Stripe pays it, and each refusal of a payout shown as its
sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from tests.checkout_support import SELLER_A
from tests.conftest import TokenFactory, eventually_found
from tests.payouts_support import MUG_NET
from tests.ui.browsing import sign_in
from tests.ui.market import LiveMarket
from tests.ui.sellers import CLOSED_BANK_ACCOUNT, PAYING_BANK_ACCOUNT

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

BUYER = "buyer-ui"


async def sold_and_settled(market: LiveMarket, account_number: str = PAYING_BANK_ACCOUNT) -> LiveMarket:
    await market.open(SELLER_A, account_number)
    await market.released_sale(BUYER, "prod_mug")
    return market


async def request_payout(page: Page, amount: str, title: str) -> None:
    await page.get_by_label("Amount (USD)").fill(amount)
    await page.get_by_role("button", name="Request payout").click()
    await page.get_by_role("dialog", name=title).get_by_role("button", name="Request payout").click()


async def test_a_seller_sees_a_released_sale_pays_it_out_and_sees_it_paid(
    page: Page,
    live_market: LiveMarket,
    token: TokenFactory,
    emulator: EmulatorServer,
    database: Database,
) -> None:
    market = await sold_and_settled(live_market)
    await sign_in(page, token(SELLER_A, Role.SELLER))

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Balances").click()
    await expect(page.get_by_role("heading", name="Balances")).to_be_focused()
    await expect(page.locator("[data-figure=available]")).to_have_text("$16.20")
    await expect(page.locator("[data-figure=pending]")).to_have_text("$0.00")
    await expect(page.locator("[data-figure=in_escrow]")).to_have_text("$0.00")
    await expect(page.locator("[data-figure=held_for_disputes]")).to_have_text("$0.00")
    assert MUG_NET == 1620

    await page.get_by_role("main").get_by_role("link", name="Request a payout").click()
    await expect(page.get_by_text("Available to pay out now: $16.20.")).to_be_visible()
    amount = page.get_by_label("Amount (USD)")
    await amount.fill("16.20")
    await page.get_by_role("button", name="Request payout").click()
    dialog = page.get_by_role("dialog", name="Pay out $16.20?")
    await dialog.get_by_role("button", name="Cancel").click()
    assert await database[Collections.PAYOUTS].count_documents({}) == 0, "nothing asked before confirming"

    await page.get_by_role("button", name="Request payout").click()
    await dialog.get_by_role("button", name="Request payout").click()
    requested = page.locator("[data-payout]")
    await expect(requested).to_contain_text("Payout of $16.20 requested.")
    await expect(requested).to_be_focused()
    payout_id = await requested.get_attribute("data-payout")
    payout = await eventually_found(
        database, Collections.PAYOUTS, {"_id": payout_id, "stripe_payout_id": {"$ne": None}}
    )

    await emulator.control_async(f"payouts/{payout['stripe_payout_id']}/pay")
    await eventually_found(database, Collections.PAYOUTS, {"_id": payout_id, "status": "paid"})
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Payout history").click()
    row = page.get_by_role("row").filter(has_text=str(payout_id))
    await expect(row.locator("td[data-label=Amount]")).to_have_text("$16.20")
    await expect(row.locator("td[data-label=Status]")).to_have_text("paid")
    await expect(row.locator("td[data-label='Why it failed']")).to_have_text("—")
    await market.assert_invariants()


async def test_a_payout_the_bank_sends_back_shows_in_the_history_with_its_reason(
    page: Page,
    live_market: LiveMarket,
    token: TokenFactory,
    database: Database,
) -> None:
    market = await sold_and_settled(live_market, CLOSED_BANK_ACCOUNT)
    await sign_in(page, token(SELLER_A, Role.SELLER))
    await page.goto("/ui/#/seller/payouts/new")
    await request_payout(page, "16.20", "Pay out $16.20?")
    payout_id = await page.locator("[data-payout]").get_attribute("data-payout")
    await eventually_found(database, Collections.PAYOUTS, {"_id": payout_id, "status": "failed"})

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Payout history").click()
    row = page.get_by_role("row").filter(has_text=str(payout_id))
    await expect(row.locator("td[data-label=Status]")).to_have_text("failed")
    await expect(row.locator("td[data-label='Why it failed']")).to_contain_text("(account_closed)")
    reason = await row.locator("td[data-label='Why it failed']").inner_text()
    assert reason.removesuffix(" (account_closed)").strip() not in {"", "Stripe gave no reason."}
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Balances").click()
    await expect(page.locator("[data-figure=available]")).to_have_text("$16.20")  # back from the bank
    await market.assert_invariants()


async def test_each_refused_payout_shows_its_message(
    page: Page,
    live_market: LiveMarket,
    token: TokenFactory,
    database: Database,
) -> None:
    market = await sold_and_settled(live_market)
    await sign_in(page, token(SELLER_A, Role.SELLER))
    await page.goto("/ui/#/seller/payouts/new")
    refusal = page.get_by_role("alert")

    await request_payout(page, "100.00", "Pay out $100.00?")
    await expect(refusal).to_contain_text("That is more than you can pay out now.")
    await expect(refusal).to_contain_text("409 insufficient_funds")
    await expect(refusal).to_be_focused()

    await request_payout(page, "0.50", "Pay out $0.50?")
    await expect(refusal).to_contain_text("That is under the smallest payout allowed.")
    await expect(refusal).to_contain_text("422 payout_below_minimum")

    await request_payout(page, "ten dollars", "Pay out ten dollars?")
    await expect(refusal).to_contain_text("Some of what was sent is not valid.")
    await expect(refusal.get_by_role("listitem")).to_contain_text("amount:")

    await market.dispute(BUYER, await market.paid_order(BUYER, "prod_apron"), SELLER_A)
    await request_payout(page, "", "Pay out everything available?")
    await expect(refusal).to_contain_text("You have an open dispute or chargeback")
    await expect(refusal).to_contain_text("409 payouts_blocked_by_dispute")
    assert await database[Collections.PAYOUTS].count_documents({}) == 0
    await market.assert_invariants()


async def test_a_seller_without_stripe_account_is_told_to_set_up_payments(
    page: Page, token: TokenFactory, live_service: str
) -> None:
    await sign_in(page, token("seller-new", Role.SELLER))
    await page.goto("/ui/#/seller/payouts/new")

    await request_payout(page, "5", "Pay out $5.00?")
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("You have no Stripe account to pay out from yet.")
    await expect(refusal).to_contain_text("409 seller_not_onboarded")
