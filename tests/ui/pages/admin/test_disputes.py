"""The admin console's disputes: the queue with how the money at stake was paid, a dispute's
evidence read and downloaded, resolving it with a refund (confirmed), and the dispute leaving the
queue; a decision arriving after another admin's shown as its refusal; the dispute's notification
leads to it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from tests.checkout_support import SELLER_A
from tests.conftest import eventually_found
from tests.ui.browsing import sign_in
from tests.ui.market import LiveMarket

if TYPE_CHECKING:
    pass

BUYER = "buyer-ui"
RECEIPT = b"\x89PNG\r\n\x1a\n a receipt"


async def disputed_order(market: LiveMarket) -> str:
    """A card-paid order of the mug, disputed by its buyer, with a text and a file as evidence."""
    await market.open(SELLER_A)
    dispute_id = await market.dispute(BUYER, await market.paid_order(BUYER, "prod_mug"), SELLER_A)
    evidence = f"/dispute/{dispute_id}/evidence"
    await market.call("POST", evidence, BUYER, Role.BUYER, json={"text": "The parcel never came."})
    await market.call(
        "POST",
        evidence,
        BUYER,
        Role.BUYER,
        params={"filename": "receipt.png"},
        content=RECEIPT,
        headers={"Content-Type": "image/png"},
    )
    return dispute_id


async def test_an_admin_resolves_a_dispute_with_a_refund_and_it_leaves_the_queue(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
    database: Database,
    tmp_path: Path,
) -> None:
    dispute_id = await disputed_order(live_market)
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Disputes").click()
    row = page.get_by_role("row").filter(has_text=dispute_id)
    await expect(row.locator("td[data-label='Paid by']")).to_have_text("card $18.00")
    await expect(row.locator("td[data-label='Seller paid']")).to_have_text("not transferred")
    await expect(row.locator("td[data-label=Status]")).to_have_text("open")

    await row.get_by_role("link", name=dispute_id).click()
    await expect(page.get_by_role("heading", name=f"Dispute {dispute_id}")).to_be_focused()
    await expect(page.get_by_text("The parcel never came.")).to_be_visible()
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download receipt.png").click()
    download = await downloading.value
    assert download.suggested_filename == "receipt.png"
    await download.save_as(tmp_path / "receipt.png")
    assert (tmp_path / "receipt.png").read_bytes() == RECEIPT

    await page.get_by_label("Decision").select_option("refund_buyer")
    await page.get_by_label("Note").fill("The carrier lost it")
    await page.get_by_role("button", name="Resolve dispute").click()
    dialog = page.get_by_role("dialog", name="Refund the buyer?")
    await expect(dialog).to_contain_text("$18.00 goes back to the buyer")
    await dialog.get_by_role("button", name="Resolve dispute").click()
    resolved = page.locator("[data-outcome]")
    await expect(resolved).to_have_attribute("data-outcome", "resolved_refund")
    await expect(resolved).to_be_focused()
    await expect(page.get_by_role("button", name="Resolve dispute")).to_have_count(0)

    await page.get_by_role("link", name="← The disputes queue").click()
    await expect(page.get_by_text("No dispute matches these filters.")).to_be_visible()
    await expect(page.get_by_role("link", name=dispute_id)).to_have_count(0)
    await page.get_by_label("Open or closed").select_option("any")
    await page.get_by_label("Status").select_option("resolved_refund")
    await page.get_by_role("button", name="Show disputes").click()
    await expect(page.get_by_role("row").filter(has_text=dispute_id)).to_contain_text("resolved refund")

    await eventually_found(database, Collections.REFUNDS, {"dispute_id": dispute_id, "status": "succeeded"})
    await live_market.assert_invariants()


async def test_a_dispute_resolved_meanwhile_another_way_refuses_the_decision_with_its_message(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
    database: Database,
) -> None:
    dispute_id = await disputed_order(live_market)
    await sign_in(page, admin_token)
    await page.goto(f"/ui/#/admin/disputes/{dispute_id}")
    await expect(page.get_by_role("button", name="Resolve dispute")).to_be_visible()
    await live_market.call(
        "POST",
        f"/admin/disputes/{dispute_id}/resolve",
        "admin-2",
        Role.ADMIN,
        key="elsewhere",
        json={"outcome": "release_to_seller", "note": "delivered after all"},
    )

    await page.get_by_label("Decision").select_option("split")
    await page.get_by_label("Refund to the buyer (USD)").fill("5")
    await page.get_by_label("Note").fill("half each")
    await page.get_by_role("button", name="Resolve dispute").click()
    dialog = page.get_by_role("dialog", name="Split: refund part, release the rest?")
    await expect(dialog).to_contain_text("$5.00 goes back to the buyer and the rest of $18.00")
    await dialog.get_by_role("button", name="Resolve dispute").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text(
        "This dispute is already resolved or closed, so nothing was changed."
    )
    await expect(refusal).to_contain_text("409 dispute_not_open")
    await expect(refusal).to_be_focused()
    await expect(page.locator("[data-outcome]")).to_have_count(0)
    assert await database[Collections.REFUNDS].count_documents({}) == 0
    resolved = await database[Collections.DISPUTES].find_one({"_id": dispute_id})
    assert resolved is not None
    assert (resolved["status"], resolved["note"]) == ("resolved_release", "delivered after all")


async def test_a_split_without_an_amount_shows_its_message(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
) -> None:
    dispute_id = await disputed_order(live_market)
    await sign_in(page, admin_token)
    await page.goto(f"/ui/#/admin/disputes/{dispute_id}")

    await page.get_by_label("Decision").select_option("split")
    await page.get_by_label("Refund to the buyer (USD)").fill("18.00")
    await page.get_by_label("Note").fill("all of it, as a split")
    await page.get_by_role("button", name="Resolve dispute").click()
    await (
        page.get_by_role("dialog", name="Split: refund part, release the rest?")
        .get_by_role("button", name="Resolve dispute")
        .click()
    )
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("A split needs the amount refunded to the buyer")
    await expect(refusal).to_contain_text("422 refund_amount_required")
    await expect(page.get_by_role("button", name="Resolve dispute")).to_be_enabled()


async def test_the_disputes_notification_leads_to_it_and_is_marked_read(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
) -> None:
    dispute_id = await disputed_order(live_market)
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Notifications").click()
    row = page.get_by_role("row").filter(has_text=dispute_id)
    await row.get_by_role("button", name="Mark read").click()
    await (
        page.get_by_role("dialog", name="Mark this notification read?")
        .get_by_role("button", name="Mark read")
        .click()
    )
    await expect(page.get_by_role("status").filter(has_text="Marked read")).to_be_focused()
    await expect(page.get_by_text("No notification here.")).to_be_visible()

    await page.get_by_label("Show").select_option("false")
    await page.get_by_role("button", name="Show notifications").click()
    await expect(row.locator("td[data-label=Read]")).to_contain_text("by admin-ui")
    await row.get_by_role("link", name=f"dispute {dispute_id}").click()
    await expect(page.get_by_role("heading", name=f"Dispute {dispute_id}")).to_be_focused()
