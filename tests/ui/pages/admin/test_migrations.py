"""The admin console's legacy wallet migrations: a bulk run with its counts, totals and rejected
wallets; an admin migrating one user now, a user with no legacy wallet, and a wallet that cannot
be migrated shown as its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bson.decimal128 import Decimal128
from playwright.async_api import Page, expect

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import running_services
from app.db import Database
from app.domain.audit import Actor
from app.services.migration import RunOptions
from tests.legacy_wallets import insert_legacy_wallet
from tests.money_invariants import assert_money_invariants
from tests.ui.browsing import sign_in

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

JOB = Actor.job("migrate_legacy_wallets")


async def bulk_run(settings: Settings, database: Database) -> str:
    """Three good legacy wallets and two the migration rejects, migrated by a bulk run."""
    for user, balance in (("legacy-a", 10.5), ("legacy-b", "20"), ("legacy-c", Decimal128("0.99"))):
        await insert_legacy_wallet(database, user, balance)
    await insert_legacy_wallet(database, "legacy-sub-cent", 12.345)
    await insert_legacy_wallet(database, "legacy-comma", "12,50")
    async with running_services(settings) as services:
        report = await services.migration_runs.start(RunOptions(batch_size=2), JOB)
    assert report.run_id is not None
    return report.run_id


async def test_an_admin_reads_a_bulk_run_and_its_rejected_wallets(
    page: Page, admin_token: str, settings: Settings, database: Database, live_service: str
) -> None:
    run_id = await bulk_run(settings, database)
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Migrations").click()
    row = page.get_by_role("row").filter(has_text=run_id)
    await expect(row).to_contain_text("completed")
    await expect(row.locator("td[data-label=Wallets]")).to_have_text("5")
    await expect(row.locator("td[data-label=Migrated]")).to_have_text("3")
    await expect(row.locator("td[data-label=Rejected]")).to_have_text("2")
    await expect(row.locator("td[data-label=Posted]")).to_have_text("$31.49")

    await row.get_by_role("link", name=run_id).click()
    await expect(page.get_by_role("heading", name=f"Run {run_id}")).to_be_focused()
    totals = page.get_by_role("row").filter(has_text="usd")
    # "12,50" is no amount, so it is in no total; 12.345 is, with every digit.
    await expect(totals.locator("td[data-label=Legacy]")).to_have_text("$43.835")
    await expect(totals.locator("td[data-label=Migrated]")).to_have_text("$31.49")
    await expect(totals.locator("td[data-label=Rejected]")).to_have_text("$12.345")
    await expect(totals.locator("td[data-label=Reconciles]")).to_have_text("yes")
    rejected = page.get_by_role("table", name="Rejected wallets, in legacy id order")
    await expect(rejected.get_by_role("row").filter(has_text="legacy-sub-cent")).to_contain_text(
        "sub_cent_precision"
    )
    await expect(rejected.get_by_role("row").filter(has_text="legacy-comma")).to_contain_text(
        "unparseable_amount"
    )


async def test_an_admin_migrates_one_user_and_sees_each_outcome(
    page: Page,
    admin_token: str,
    settings: Settings,
    database: Database,
    live_service: str,
    emulator: EmulatorServer,
) -> None:
    await insert_legacy_wallet(database, "legacy-late", "7.25")
    await insert_legacy_wallet(database, "legacy-sub-cent", 12.345)
    await sign_in(page, admin_token)
    await page.goto("/ui/#/admin/migrations")
    user = page.get_by_label("User id")
    migrate = page.get_by_role("button", name="Migrate now")

    async def migrate_user(user_id: str) -> None:
        await user.fill(user_id)
        await migrate.click()
        await (
            page.get_by_role("dialog", name=f"Migrate {user_id} now?")
            .get_by_role("button", name="Migrate now")
            .click()
        )

    await migrate_user("legacy-late")
    migrated = page.locator("[data-outcome=migrated]")
    await expect(migrated).to_contain_text("legacy-late is migrated.")
    await expect(migrated).to_contain_text("$7.25")
    await expect(migrated).to_be_focused()

    await migrate_user("nobody-here")
    await expect(page.locator("[data-outcome=none]")).to_have_text(
        "nobody-here has no legacy wallet: there is nothing to migrate."
    )

    await migrate_user("legacy-sub-cent")
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("This legacy wallet cannot be migrated as it is stored")
    await expect(refusal).to_contain_text("422 invalid_legacy_balance")

    adapter = StripeAdapter(settings)
    try:
        await assert_money_invariants(database, adapter)
    finally:
        await adapter.close()
