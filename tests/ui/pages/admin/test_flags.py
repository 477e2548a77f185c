"""The admin console's feature flags: an admin rolls a flag out to a share of users with a listed
exception, confirmed and audited, and checks what a user gets; a refused percentage names its
field; support reads the rules and is offered no change."""

from __future__ import annotations

from playwright.async_api import Page, expect

from app.auth import Role
from app.db import Collections, Database
from app.domain.flags import Flag
from tests.conftest import TokenFactory, eventually_found
from tests.ui.browsing import press_until_focused, sign_in

FLAG = Flag.CHECKOUT_V2.value


async def test_an_admin_rolls_a_flag_out_and_checks_what_a_user_gets(
    page: Page, admin_token: str, database: Database
) -> None:
    await sign_in(page, admin_token)
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Feature flags").click()
    panels = page.locator("[data-flag]")
    await expect(panels).to_have_count(len(Flag))
    panel = page.locator(f"[data-flag={FLAG}]")
    await expect(panel).to_contain_text("the settings (default)")

    switch = panel.get_by_role("switch", name="Switched on")
    if not await switch.is_checked():
        await switch.check()
    await panel.get_by_label("Rollout percentage").fill("25")
    await panel.get_by_label("Always for").fill("vip-buyer\npilot-buyer")
    await panel.get_by_label("Never for").fill("blocked-buyer")
    await panel.get_by_role("button", name=f"Save {FLAG}").click()
    dialog = page.get_by_role("dialog", name=f"Change {FLAG}?")
    await expect(dialog).to_contain_text("on for 25% of users, always for 2 listed, never for 1 listed")
    await dialog.get_by_role("button", name=f"Save {FLAG}").click()

    saved = panel.get_by_role("status")
    await expect(saved).to_have_text(
        f"Saved: {FLAG} is on for 25% of users, always for 2 listed, never for 1 listed."
    )
    await expect(saved).to_be_focused()
    await expect(panel).to_contain_text("admin-ui")
    stored = await eventually_found(
        database, Collections.AUDIT_LOG, {"action": "feature_flag.updated", "object.id": FLAG}
    )
    assert stored["after"]["rollout_percent"] == 25

    await page.reload()
    panel = page.locator(f"[data-flag={FLAG}]")
    await expect(panel.get_by_label("Rollout percentage")).to_have_value("25")
    await expect(panel.get_by_label("Always for")).to_have_value("pilot-buyer\nvip-buyer")
    await expect(panel.get_by_label("Never for")).to_have_value("blocked-buyer")

    check = panel.get_by_label("Does this user get it?")
    await press_until_focused(page, check)
    await page.keyboard.type("vip-buyer")
    await page.keyboard.press("Enter")
    await expect(panel.locator("[data-decision]")).to_have_attribute("data-decision", "allowed")
    await expect(panel.locator("[data-decision]")).to_contain_text(
        f"vip-buyer: gets {FLAG} (listed as always"
    )
    await check.fill("blocked-buyer")
    await check.press("Enter")
    await expect(panel.locator("[data-decision]")).to_have_attribute("data-decision", "denied")


async def test_a_rollout_over_100_percent_is_refused_and_names_its_field(
    page: Page, admin_token: str
) -> None:
    await sign_in(page, admin_token)
    await page.goto("/ui/#/admin/flags")
    panel = page.locator(f"[data-flag={FLAG}]")

    await panel.get_by_label("Rollout percentage").fill("150")
    await panel.get_by_role("button", name=f"Save {FLAG}").click()
    await (
        page.get_by_role("dialog", name=f"Change {FLAG}?").get_by_role("button", name=f"Save {FLAG}").click()
    )

    refusal = panel.get_by_role("alert")
    await expect(refusal).to_contain_text("Some of what was sent is not valid.")
    await expect(refusal.get_by_role("listitem")).to_have_text(
        ["rollout_percent: Input should be less than or equal to 100"]
    )
    await expect(refusal).to_be_focused()


async def test_support_reads_the_flags_and_is_offered_no_change(page: Page, token: TokenFactory) -> None:
    await sign_in(page, token("support-ui", Role.SUPPORT))
    await page.goto("/ui/#/admin/flags")

    panel = page.locator(f"[data-flag={FLAG}]")
    await expect(panel.get_by_label("Rollout percentage")).to_be_disabled()
    await expect(panel.get_by_role("switch", name="Switched on")).to_be_disabled()
    await expect(page.get_by_role("button", name=f"Save {FLAG}")).to_have_count(0)
    await expect(panel.get_by_role("button", name="Check user")).to_be_enabled()
