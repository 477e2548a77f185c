"""What the browser tests do as a person would (sign in, move with the keyboard), and the
service states they start from."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from app.db import Collections, Database
from app.ui import STATIC_DIRECTORY
from tests.conftest import PLATFORM_WEBHOOK_SECRET, eventually_found
from tests.stripe_events import signed_delivery, stripe_event, stripe_object


def manifest() -> dict[str, Any]:
    """pages.json, the pages the shell knows."""
    with open(f"{STATIC_DIRECTORY}/pages.json", encoding="utf-8") as file:
        loaded: dict[str, Any] = json.load(file)
    return loaded


async def sign_in(page: Page, token: str) -> None:
    """Open /ui/ and sign in with `token`."""
    await page.goto("/ui/")
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def press_until_focused(page: Page, target: Locator, key: str = "Tab", most: int = 30) -> None:
    """Press `key` until `target` has the focus, as a keyboard user moves through a page."""
    for _ in range(most):
        if await target.evaluate("element => element === document.activeElement"):
            return
        await page.keyboard.press(key)
    raise AssertionError(f"{most} presses of {key} never reached {target}")


async def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than its viewport (0: no horizontal scroll)."""
    overflow: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


async def deliver(service_url: str, event: dict[str, Any]) -> None:
    body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{service_url}/webhooks/stripe", content=body, headers=headers)
    response.raise_for_status()


async def dead_lettered_event(service_url: str, database: Database) -> dict[str, Any]:
    """A platform event whose handler always raises: `account.application.deauthorized` must
    name a connected account. With WEBHOOK_MAX_ATTEMPTS=1 its first failure dead-letters it."""
    event = stripe_event("account.application.deauthorized", stripe_object("application"))
    await deliver(service_url, event)
    return await eventually_found(
        database, Collections.WEBHOOK_EVENTS, {"_id": event["id"], "status": "dead_letter"}
    )


async def ignored_event(service_url: str, database: Database) -> dict[str, Any]:
    """A platform event no handler takes, so it is stored as ignored."""
    event = stripe_event("customer.created", stripe_object("customer"))
    await deliver(service_url, event)
    return await eventually_found(
        database, Collections.WEBHOOK_EVENTS, {"_id": event["id"], "status": "ignored"}
    )
