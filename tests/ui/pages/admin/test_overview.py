"""The admin overview: each figure linked to the page of its list; an admin follows the open
disputes to the queue, resolves one with a refund and sees the figure go down; the migration's
progress; the keyboard alone follows a figure to its list; nothing scrolls sideways on a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.config import Settings
from app.db import Collections, Database
from tests.conftest import eventually_found
from tests.ui.browsing import dead_lettered_event, press_until_focused, sideways_overflow, sign_in
from tests.ui.market import LiveMarket
from tests.ui.pages.admin.test_disputes import disputed_order
from tests.ui.pages.admin.test_migrations import bulk_run

if TYPE_CHECKING:
    pass


async def open_overview(page: Page) -> None:
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Overview").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_focused()


async def test_an_admin_resolves_a_dispute_with_a_refund_and_sees_the_overview_change(
    page: Page,
    live_market: LiveMarket,
    admin_token: str,
    database: Database,
) -> None:
    dispute_id = await disputed_order(live_market)
    await sign_in(page, admin_token)

    await open_overview(page)
    await expect(page.locator("[data-figure=open_disputes]")).to_have_text("1")
    await expect(page.locator("[data-figure=open_chargebacks]")).to_have_text("0")
    await expect(page.locator("[data-figure=escrow_held]")).to_have_text("$18.00")
    await page.get_by_role("link", name="Show the open disputes").click()
    await expect(page.get_by_role("heading", name="Disputes")).to_be_focused()
    assert page.url.endswith("#/admin/disputes?kind=buyer&open=true")
    await expect(page.get_by_label("Kind")).to_have_value("buyer")
    await page.get_by_role("row").filter(has_text=dispute_id).get_by_role("link", name=dispute_id).click()

    await page.get_by_label("Decision").select_option("refund_buyer")
    await page.get_by_label("Note").fill("The carrier lost it")
    await page.get_by_role("button", name="Resolve dispute").click()
    await (
        page.get_by_role("dialog", name="Refund the buyer?")
        .get_by_role("button", name="Resolve dispute")
        .click()
    )
    await expect(page.locator("[data-outcome]")).to_have_attribute("data-outcome", "resolved_refund")

    await open_overview(page)
    await expect(page.locator("[data-figure=open_disputes]")).to_have_text("0")
    await expect(page.locator("[data-figure=escrow_held]")).to_have_text("$0.00")
    await eventually_found(database, Collections.REFUNDS, {"dispute_id": dispute_id, "status": "succeeded"})
    await live_market.assert_invariants()


async def test_the_overview_shows_the_last_migration_runs_progress_and_leads_to_it(
    page: Page, admin_token: str, settings: Settings, database: Database
) -> None:
    run_id = await bulk_run(settings, database)
    await sign_in(page, admin_token)
    await open_overview(page)

    figures = {
        "migration_wallets": "5",
        "migration_migrated": "3",
        "migration_already_migrated": "0",
        "migration_rejected": "2",
        "migration_remaining": "0",
    }
    for name, shown in figures.items():
        await expect(page.locator(f"[data-figure={name}]")).to_have_text(shown)
    await page.get_by_role("link", name=run_id).click()
    await expect(page.get_by_role("heading", name=f"Run {run_id}")).to_be_focused()
    await expect(page.get_by_role("row").filter(has_text="legacy-comma")).to_be_visible()


async def test_the_keyboard_alone_follows_a_figure_to_its_list(
    page: Page, admin_token: str, live_service: str, database: Database
) -> None:
    event = await dead_lettered_event(live_service, database)
    await sign_in(page, admin_token)
    await page.goto("/ui/#/admin/overview")
    await expect(page.locator("[data-figure=dead_letters]")).to_have_text("1")

    await press_until_focused(page, page.get_by_role("link", name="Show the dead letters"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Webhook events")).to_be_focused()
    await expect(page.get_by_role("link", name=event["_id"])).to_be_visible()
    assert page.url.endswith("#/admin/webhook-events?status=dead_letter")


async def test_at_a_phone_width_the_overview_does_not_scroll_sideways(
    page: Page, admin_token: str, live_service: str, database: Database, settings: Settings
) -> None:
    await bulk_run(settings, database)
    await dead_lettered_event(live_service, database)
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, admin_token)

    await page.goto("/ui/#/admin/overview")
    await expect(page.locator("[data-figure=migration_rejected]")).to_have_text("2")
    assert await sideways_overflow(page) == 0
