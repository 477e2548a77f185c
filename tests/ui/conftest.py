"""Browser tests of the pages under /ui/: Debian's Chromium driven by Playwright, one browser per
test session (each xdist worker) and a fresh context per test, against the service under uvicorn
with the Stripe emulator. A failed test leaves `failure.png` in its tmp_path.

Every wait is for an element, an answer or a database state, never a fixed sleep; the timeouts
are generous because the suite runs two workers on two cores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from app.auth import Role
from app.config import Settings
from app.db import Database
from tests.conftest import TokenFactory, make_settings
from tests.ui.market import LiveMarket

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000
SCREENSHOT = "failure.png"
CALL_FAILED = pytest.StashKey[bool]()

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Marks a failed call for the `page` fixture, which saves the screenshot as it tears down,
    and names the file in the failure's report."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed and "page" in getattr(item, "fixturenames", ()):
        item.stash[CALL_FAILED] = True
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        report.sections.append(("browser screenshot", f"saved to {tmp_path}/{SCREENSHOT}"))
    return report


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # `launch` gives the browser a fresh profile directory of its own, removed when it closes.
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer, service_port: int) -> Settings:
    """The live service's settings: a handler that fails once dead-letters its event, the audit
    sealer runs often, so a change shows in the audit log at once, and Stripe's onboarding
    returns the seller to the service's own pages."""
    setup_page = f"http://127.0.0.1:{service_port}/ui/#/seller/setup"
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_poll_seconds=0.05,
        webhook_max_attempts=1,
        jobs_enabled=True,
        audit_seal_interval_seconds=0.1,
        onboarding_return_url=f"{setup_page}?returned=1",
        onboarding_refresh_url=f"{setup_page}?link=expired",
    )


@pytest.fixture
async def context(browser: Browser, database: Database, live_service: str) -> AsyncIterator[BrowserContext]:
    # `database` first: its teardown drops the service's database, which must wait until the
    # service (its webhook worker and audit sealer mid-transaction) has stopped.
    context = await browser.new_context(base_url=live_service, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    await context.close()


@pytest.fixture
async def page(
    context: BrowserContext, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Page]:
    page = await context.new_page()
    yield page
    if request.node.stash.get(CALL_FAILED, False):
        await page.screenshot(path=tmp_path / SCREENSHOT, full_page=True)


@pytest.fixture
def admin_token(token: TokenFactory) -> str:
    return token("admin-ui", Role.ADMIN)


@pytest.fixture
def live_market(
    live_service: str, emulator: EmulatorServer, database: Database, settings: Settings, token: TokenFactory
) -> LiveMarket:
    """The marketplace around the live service: sellers, buyers and their orders, through its API."""
    return LiveMarket(live_service, emulator, database, settings, token)
