"""The admin console's reconciliation: a run and the discrepancy it found listed, opened, a
refused adjustment shown as its message, then resolved by an adjustment (confirmed) that leaves
the open list and balances the books; acknowledging; a drift a later run superseded, found by
its status, offered no resolve; support reads but is offered no resolve."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from playwright.async_api import Page, expect

from app.adapters.stripe_adapter import StripeAdapter
from app.auth import Role
from app.config import Settings
from app.container import running_services
from app.db import Collections, Database
from app.domain.reconciliation import RunStatus, RunTrigger
from tests.conftest import TokenFactory
from tests.money_invariants import assert_money_invariants
from tests.services.reconciliation.support import credit_without_payment, earlier, reconcile
from tests.ui.browsing import sideways_overflow, sign_in

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


async def daily_run_done(database: Database) -> None:
    """The live service reconciles yesterday as it starts. Its balance check sees the whole
    balance, so a fault seeded while it runs is reported by it as drift, which stands until a later
    run supersedes it: the fault is seeded once it has finished, so a test knows what it lists."""
    for _ in range(600):
        finished = {"trigger": str(RunTrigger.SCHEDULE), "status": {"$ne": str(RunStatus.RUNNING)}}
        if await database[Collections.RECONCILIATION_RUNS].find_one(finished) is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the service's daily reconciliation did not finish")


async def ghost_credit_found(settings: Settings, database: Database) -> tuple[str, str]:
    """7.00 credited to a wallet for a PaymentIntent Stripe never had, found by a run: the run's
    id and the discrepancy's."""
    await daily_run_done(database)
    async with running_services(settings) as services:
        await credit_without_payment(services)
        run = await reconcile(services)
        assert run.new_discrepancies == 1
        [found] = (await services.reconciliation_review.discrepancies(None, 10, None)).data
    return run.id, found.id


async def resolve(page: Page, resolution: str, note: str) -> None:
    await page.get_by_label("Resolution").select_option(resolution)
    await page.get_by_label("Note").fill(note)
    await page.get_by_role("button", name="Resolve discrepancy").click()


async def test_an_admin_finds_the_discrepancy_and_adjusts_it_after_a_refused_adjustment(
    page: Page, admin_token: str, settings: Settings, database: Database, emulator: EmulatorServer
) -> None:
    run_id, discrepancy_id = await ghost_credit_found(settings, database)
    await sign_in(page, admin_token)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Reconciliation").click()
    run = page.get_by_role("table", name="Runs, newest first").get_by_role("row").filter(has_text=run_id)
    await expect(run.locator("td[data-label='New discrepancies']")).to_have_text("1")
    await expect(run.locator("td[data-label=Status]")).to_have_text("succeeded")
    await expect(run.locator("td[data-label=By]")).to_have_text("command")
    row = page.get_by_role("row").filter(has_text=discrepancy_id)
    await expect(row.locator("td[data-label=Kind]")).to_have_text("topup payment missing")
    await expect(row.locator("td[data-label='Our books']")).to_have_text("$7.00")
    await expect(row.locator("td[data-label=Stripe]")).to_have_text("nothing")
    await row.get_by_role("link", name=discrepancy_id).click()
    await expect(page.get_by_role("heading", name=f"Discrepancy {discrepancy_id}")).to_be_focused()
    await expect(page.get_by_text("pi_ghost", exact=True)).to_be_visible()

    await page.get_by_label("Resolution").select_option("adjusted")
    await page.get_by_label("From account").fill("buyer:buyer-ghost:wallet")
    await page.get_by_label("To account").fill("buyer:buyer-ghost:wallet")
    await page.get_by_label("Amount (USD)").fill("7.00")
    await resolve(page, "adjusted", "credited without a payment")
    await (
        page.get_by_role("dialog", name="Book this adjustment?")
        .get_by_role("button", name="Book adjustment")
        .click()
    )
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("This adjustment cannot be booked as it is")
    await expect(refusal).to_contain_text("422 invalid_adjustment")
    await expect(refusal).to_be_focused()

    await page.get_by_label("To account").fill("world:card")
    await page.get_by_role("button", name="Resolve discrepancy").click()
    dialog = page.get_by_role("dialog", name="Book this adjustment?")
    await expect(dialog).to_contain_text("$7.00 moves from buyer:buyer-ghost:wallet to world:card")
    await dialog.get_by_role("button", name="Book adjustment").click()
    done = page.locator("[data-outcome]")
    await expect(done).to_have_attribute("data-outcome", "adjusted")
    await expect(done).to_contain_text(f"adjustment:{discrepancy_id}")
    await expect(done).to_be_focused()
    await expect(page.get_by_role("button", name="Resolve discrepancy")).to_have_count(0)

    await page.get_by_role("link", name="← Runs and discrepancies").click()
    await expect(page.get_by_text("No discrepancy has this status.")).to_be_visible()
    await page.get_by_label("Status").select_option("adjusted")
    await page.get_by_role("button", name="Show discrepancies").click()
    await expect(page.get_by_role("row").filter(has_text=discrepancy_id)).to_contain_text("adjusted")
    adapter = StripeAdapter(settings)
    try:
        await assert_money_invariants(database, adapter)
    finally:
        await adapter.close()


async def test_an_admin_acknowledges_and_it_may_still_be_adjusted(
    page: Page, admin_token: str, settings: Settings, database: Database
) -> None:
    _, discrepancy_id = await ghost_credit_found(settings, database)
    await sign_in(page, admin_token)
    await page.goto(f"/ui/#/admin/reconciliation/{discrepancy_id}")

    await expect(page.get_by_label("From account")).to_be_hidden()
    await resolve(page, "acknowledged", "a test credit, known")
    dialog = page.get_by_role("dialog", name="Acknowledge this discrepancy?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.locator("[data-outcome]")).to_have_count(0)
    await page.get_by_role("button", name="Resolve discrepancy").click()
    await dialog.get_by_role("button", name="Acknowledge").click()
    await expect(page.locator("[data-outcome]")).to_have_attribute("data-outcome", "acknowledged")
    await expect(page.get_by_text("a test credit, known")).to_be_visible()
    await expect(page.get_by_role("button", name="Resolve discrepancy")).to_be_visible()


async def test_support_reads_a_discrepancy_on_a_phone_and_is_offered_no_resolve(
    page: Page, token: TokenFactory, settings: Settings, database: Database
) -> None:
    _, discrepancy_id = await ghost_credit_found(settings, database)
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, token("support-ui", Role.SUPPORT))

    await page.goto("/ui/#/admin/reconciliation")
    await expect(page.get_by_role("link", name=discrepancy_id)).to_be_visible()
    assert await sideways_overflow(page) == 0
    await page.get_by_role("link", name=discrepancy_id).click()
    await expect(page.get_by_role("heading", name=f"Discrepancy {discrepancy_id}")).to_be_focused()
    await expect(page.get_by_role("button", name="Resolve discrepancy")).to_have_count(0)
    assert await sideways_overflow(page) == 0


async def test_an_admin_finds_a_superseded_drift_by_its_status_and_is_offered_no_resolve(
    page: Page, admin_token: str, settings: Settings, database: Database
) -> None:
    await daily_run_done(database)
    async with running_services(settings) as services:
        await credit_without_payment(services)
        yesterday = await reconcile(services, earlier())
        [drift] = (await services.reconciliation_review.discrepancies(None, 10, None)).data
        today = await reconcile(services)
    assert (drift.kind, today.superseded_discrepancies) == ("platform_balance_drift", 1)
    await sign_in(page, admin_token)

    await page.goto("/ui/#/admin/reconciliation")
    run = page.get_by_role("table", name="Runs, newest first").get_by_role("row").filter(has_text=today.id)
    await expect(run.locator("td[data-label='Drifts superseded']")).to_have_text("1")
    await expect(page.get_by_role("link", name=drift.id)).to_have_count(0)
    await page.get_by_label("Status").select_option("superseded")
    await page.get_by_role("button", name="Show discrepancies").click()
    row = page.get_by_role("row").filter(has_text=drift.id)
    await expect(row.locator("td[data-label=Kind]")).to_have_text("platform balance drift")
    await expect(row.locator("td[data-label=Status]")).to_have_text("superseded")
    await row.get_by_role("link", name=drift.id).click()

    await expect(page.get_by_role("heading", name=f"Discrepancy {drift.id}")).to_be_focused()
    await expect(page.get_by_text(f"by run {today.id}")).to_be_visible()
    await expect(page.get_by_text("explain the whole gap")).to_be_visible()
    await expect(page.get_by_text(f"first {yesterday.id}")).to_be_visible()
    await expect(page.get_by_role("button", name="Resolve discrepancy")).to_have_count(0)
