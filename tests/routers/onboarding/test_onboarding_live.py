"""A seller onboarded the way their browser does it, end to end: the service under uvicorn hands
out a link, the emulator's onboarding page (Stripe's hosted onboarding) is completed and sends
the browser back to the frontend, and the signed Connect webhooks bring the account's state to
the service. Then Stripe restricts, reviews, rejects; a webhook comes late; a link expires."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from app.auth import Role
from app.config import Settings
from app.db import Database
from app.services.onboarding import STATUS_CHANGED
from tests.conftest import CONNECT_WEBHOOK_SECRET, TokenFactory, bearer, make_settings
from tests.services.audit.support import audit_documents
from tests.stripe_events import signed_delivery, stripe_event, stripe_object

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SELLER = "seller-live"
ONBOARDING_PAGE = re.compile(r"/_emulator/onboarding/([A-Za-z0-9]+)$")


@dataclass
class Frontend:
    """The marketplace's frontend: where Stripe's onboarding returns the seller, and where an
    expired link sends them, which asks the API for a fresh link and goes there."""

    url: str
    api: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    refreshes: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def frontend() -> Iterator[Frontend]:
    from stripe_emulator.testing import BackgroundServer

    state = Frontend(url="")

    async def done(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"Thanks, {request.path_params['seller_id']}")

    async def refresh(request: Request) -> Response:
        seller_id = request.path_params["seller_id"]
        state.refreshes.append(seller_id)
        async with httpx.AsyncClient(base_url=state.api, timeout=30) as api:
            link = await api.get(
                f"/seller/{seller_id}/onboarding-link", headers=bearer(state.tokens[seller_id])
            )
        return RedirectResponse(link.json()["url"], status_code=302)

    routes = [
        Route("/seller/{seller_id}/payments/onboarding/done", done),
        Route("/seller/{seller_id}/payments/onboarding/refresh", refresh),
    ]
    with BackgroundServer(Starlette(routes=routes)) as server:
        state.url = server.base_url
        yield state


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer, frontend: Frontend) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_poll_seconds=0.05,
        onboarding_refresh_url=f"{frontend.url}/seller/{{seller_id}}/payments/onboarding/refresh",
        onboarding_return_url=f"{frontend.url}/seller/{{seller_id}}/payments/onboarding/done",
    )


@pytest.fixture
async def api(live_service: str, frontend: Frontend) -> AsyncIterator[httpx.AsyncClient]:
    frontend.api = live_service
    async with httpx.AsyncClient(base_url=live_service, timeout=30) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        yield client


@pytest.fixture
async def seller(database: Database, token: TokenFactory, frontend: Frontend) -> dict[str, str]:
    """The seller's profile in the marketplace, and their token (the frontend holds it too)."""
    await database["users"].insert_one({"_id": SELLER, "email": "live@example.com", "country": "US"})
    frontend.tokens[SELLER] = token(SELLER, Role.SELLER)
    frontend.refreshes.clear()
    return bearer(frontend.tokens[SELLER])


async def onboarding_link(api: httpx.AsyncClient, seller: dict[str, str]) -> dict[str, Any]:
    response = await api.get(f"/seller/{SELLER}/onboarding-link", headers=seller)
    assert response.status_code == 200, response.text
    link: dict[str, Any] = response.json()
    return link


async def complete_onboarding(browser: httpx.AsyncClient, url: str) -> httpx.Response:
    """Open the link, as the frontend sends the seller there, and submit Stripe's form."""
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    assert 'name="account_number"' in page.text
    return await browser.post(str(page.url), data={"account_number": "000123456789"})


async def status_of(api: httpx.AsyncClient, seller: dict[str, str]) -> dict[str, Any]:
    response = await api.get(f"/seller/{SELLER}/stripe-status", headers=seller)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


async def eventually(
    read: Callable[[], Awaitable[dict[str, Any]]], holds: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Webhooks are delivered and processed in the background: read until `holds`, ten seconds at most."""
    for _ in range(200):
        if holds(value := await read()):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached: {value}")


async def status_changes(database: Database, account_id: str) -> list[tuple[str, str, str]]:
    records = await audit_documents(database, action=STATUS_CHANGED, **{"object.id": account_id})
    return [
        (r["actor"]["kind"], r["before"]["status"], r["after"]["status"]) for r in sorted(records, key=_at)
    ]


def _at(record: dict[str, Any]) -> Any:
    return record["at"]


async def test_a_seller_onboards_on_stripes_page_and_is_active_once_the_webhook_arrives(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    frontend: Frontend,
    seller: dict[str, str],
    database: Database,
) -> None:
    before = await status_of(api, seller)
    link = await onboarding_link(api, seller)
    started = await status_of(api, seller)

    landed = await complete_onboarding(browser, link["url"])

    assert (before["status"], before["progress"]) == ("not_started", 0)
    assert (started["status"], started["progress"], started["account_id"]) == (
        "onboarding",
        0,
        link["account_id"],
    )
    assert started["next_step"].startswith("Finish onboarding with Stripe")
    assert (landed.status_code, landed.text) == (200, f"Thanks, {SELLER}")
    assert str(landed.url) == f"{frontend.url}/seller/{SELLER}/payments/onboarding/done"
    active = await eventually(lambda: status_of(api, seller), lambda status: status["status"] == "active")
    assert active["progress"] == 100
    assert active["can_receive_transfers"] is True
    assert (active["charges_enabled"], active["payouts_enabled"], active["details_submitted"]) == (
        True,
        True,
        True,
    )
    assert active["capabilities"] == {"transfers": "active"}
    assert active["currently_due"] == active["past_due"] == active["pending_verification"] == []
    assert active["next_step"] == "Nothing to do: you can receive payments."
    assert await status_changes(database, link["account_id"]) == [
        ("user", "not_started", "onboarding"),
        ("webhook", "onboarding", "active"),
    ]
    assert any(d["status_code"] == 200 for d in emulator.deliveries() if d["event_id"].startswith("evt_"))


async def test_stripe_restricts_reviews_and_rejects_and_the_status_follows(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    seller: dict[str, str],
    database: Database,
) -> None:
    link = await onboarding_link(api, seller)
    account = link["account_id"]
    await complete_onboarding(browser, link["url"])
    await eventually(lambda: status_of(api, seller), lambda status: status["status"] == "active")

    async def after(control: str, holds: Callable[[dict[str, Any]], bool], **body: Any) -> dict[str, Any]:
        await emulator.control_async(f"accounts/{account}/{control}", **body)
        return await eventually(lambda: status_of(api, seller), holds)

    asked = await after("require", lambda seen: bool(seen["currently_due"]), due_in_seconds=7 * 86_400)
    assert asked["status"] == "active"
    assert asked["currently_due"] == ["individual.verification.document"]
    assert asked["current_deadline"] is not None
    assert asked["next_step"].startswith("Provide an identity document to Stripe by ")
    assert asked["next_step"].endswith(" to keep receiving payments.")
    assert asked["progress"] < 100

    restricted = await after("restrict", lambda seen: seen["status"] == "restricted")
    assert restricted["past_due"] == ["individual.verification.document"]
    assert restricted["disabled_reason"] == "requirements.past_due"
    assert restricted["can_receive_transfers"] is False
    assert (
        restricted["next_step"] == "Provide an identity document to Stripe now: payments to you are paused."
    )

    reviewing = await after("review", lambda seen: seen["status"] == "pending_verification")
    assert reviewing["pending_verification"] == ["individual.verification.document"]
    assert reviewing["capabilities"] == {"transfers": "pending"}

    await after("verify", lambda seen: seen["status"] == "active")
    rejected = await after("reject", lambda seen: seen["status"] == "rejected", reason="fraud")
    assert (rejected["status_reason"], rejected["can_receive_transfers"]) == ("rejected.fraud", False)
    assert rejected["next_step"] == "Contact support: Stripe rejected your account (rejected.fraud)."

    assert [after for _, _, after in await status_changes(database, account)] == [
        "onboarding",
        "active",
        "restricted",
        "pending_verification",
        "active",
        "rejected",
    ]


async def test_a_late_webhook_is_fixed_by_a_refresh_and_changes_nothing_when_it_arrives(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    seller: dict[str, str],
    database: Database,
) -> None:
    link = await onboarding_link(api, seller)
    await emulator.control_async("delivery", paused=True)
    try:
        await complete_onboarding(browser, link["url"])
        waiting = await status_of(api, seller)

        refreshed = await api.post(f"/seller/{SELLER}/stripe-status/refresh", headers=seller)
    finally:
        await emulator.control_async("delivery", paused=False)

    assert waiting["status"] == "onboarding", "no webhook has arrived"
    assert refreshed.status_code == 200, refreshed.text
    assert (refreshed.json()["status"], refreshed.json()["progress"]) == ("active", 100)
    held = [e["id"] for e in emulator.events("account.updated") if e["account"] == link["account_id"]]
    await emulator.wait_for_deliveries_async(
        lambda log: all(any(d["event_id"] == e and d["status_code"] == 200 for d in log) for e in held)
    )
    await eventually(lambda: _processed(database, held), lambda processed: processed["count"] == len(held))
    assert (await status_of(api, seller))["status"] == "active"
    assert await status_changes(database, link["account_id"]) == [
        ("user", "not_started", "onboarding"),
        ("user", "onboarding", "active"),
    ]


async def _processed(database: Database, event_ids: list[str]) -> dict[str, Any]:
    count = await database["webhook_events"].count_documents(
        {"_id": {"$in": event_ids}, "status": "processed"}
    )
    return {"count": count}


@pytest.mark.parametrize("newest_first", [True, False])
async def test_two_account_updated_of_the_same_second_in_either_order_end_as_stripe_has_it(
    api: httpx.AsyncClient,
    emulator: EmulatorServer,
    seller: dict[str, str],
    database: Database,
    newest_first: bool,
) -> None:
    account = (await onboarding_link(api, seller))["account_id"]
    await emulator.control_async("delivery", paused=True)
    try:
        await asyncio.sleep(1.01 - time.time() % 1)  # the start of a second (the emulator's clock is ours)
        await emulator.control_async(f"accounts/{account}/verify")
        await emulator.control_async(f"accounts/{account}/restrict")
        # Newest first, as Stripe lists events; the same second's keep their creation order.
        newer, older = [e for e in emulator.events("account.updated") if e["account"] == account][:2]
        assert older["created"] == newer["created"], "both in the same second"
        for event in (newer, older) if newest_first else (older, newer):
            await emulator.control_async(f"events/{event['id']}/deliver", wait=True)
        await eventually(
            lambda: _processed(database, [older["id"], newer["id"]]),
            lambda processed: processed["count"] == 2,
        )
    finally:
        await emulator.control_async("delivery", paused=False)

    status = await status_of(api, seller)
    assert (status["status"], status["past_due"]) == ("restricted", ["individual.verification.document"])


async def test_an_expired_link_sends_the_seller_through_the_refresh_url_to_a_fresh_one(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    frontend: Frontend,
    seller: dict[str, str],
) -> None:
    link = await onboarding_link(api, seller)
    match = ONBOARDING_PAGE.search(link["url"])
    assert match is not None
    await emulator.control_async(f"account_links/{match.group(1)}/expire")

    landed = await complete_onboarding(browser, link["url"])

    assert frontend.refreshes == [SELLER]
    assert (landed.status_code, landed.text) == (200, f"Thanks, {SELLER}")
    active = await eventually(lambda: status_of(api, seller), lambda status: status["status"] == "active")
    assert active["account_id"] == link["account_id"]
    used_again = await browser.get(link["url"])
    assert frontend.refreshes == [SELLER, SELLER], "a used link goes through the refresh URL too"
    assert used_again.status_code == 200
    assert ONBOARDING_PAGE.search(str(used_again.url)) is not None


async def test_a_deauthorized_account_leaves_the_seller_rejected(
    api: httpx.AsyncClient, seller: dict[str, str], browser: httpx.AsyncClient
) -> None:
    link = await onboarding_link(api, seller)
    await complete_onboarding(browser, link["url"])
    await eventually(lambda: status_of(api, seller), lambda status: status["status"] == "active")
    application = stripe_object("application", id="ca_platform", name="Marketplace")
    event = stripe_event("account.application.deauthorized", application, account=link["account_id"])
    body, headers = signed_delivery(event, CONNECT_WEBHOOK_SECRET)

    assert (await api.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200

    rejected = await eventually(lambda: status_of(api, seller), lambda status: status["status"] == "rejected")
    assert (rejected["status_reason"], rejected["can_receive_transfers"]) == ("deauthorized", False)
    assert rejected["next_step"].startswith("Contact support")
