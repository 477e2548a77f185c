"""A top-up paid the way a buyer's browser pays it, end to end: the service under uvicorn hands
the frontend its publishable key and the top-up's client secret, the emulator's payment page
confirms with them (Stripe.js's part), the browser is sent back to the frontend's `return_url`,
and the signed `payment_intent.*` webhook settles the top-up. The browser is an HTTP client
following redirects."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.auth import Role
from app.config import Settings
from tests.conftest import TokenFactory, bearer

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
HIDDEN_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def settings(live_settings: Settings) -> Settings:
    return live_settings


@pytest.fixture(scope="module")
def frontend() -> Iterator[str]:
    """The frontend's page the payment returns to (`return_url`)."""
    from stripe_emulator.testing import BackgroundServer

    async def done(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Thank you")

    with BackgroundServer(Starlette(routes=[Route("/wallet/topped-up", done)])) as server:
        yield f"{server.base_url}/wallet/topped-up"


@pytest.fixture
async def api(live_service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_service, timeout=30) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        yield client


@pytest.fixture
async def settlement_waits(emulator: EmulatorServer) -> AsyncIterator[None]:
    """Deferred settlement, and Stripe's asynchronous work waiting for the clock: a charge's
    balance transaction does not arrive while the test runs."""
    previous = await emulator.inspect_async("config")
    assert previous["settlement"] == "deferred"
    await emulator.control_async("config", processing_delay_seconds=None)
    try:
        yield
    finally:
        await emulator.control_async("config", processing_delay_seconds=previous["processing_delay_seconds"])


async def request_topup(
    api: httpx.AsyncClient, buyer: dict[str, str], amount: int, key: str
) -> dict[str, Any]:
    response = await api.post(
        "/wallet/topup_request",
        json={"amount": amount, "currency": "usd"},
        headers={**buyer, "Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    topup: dict[str, Any] = response.json()
    return topup


async def pay_on_the_payment_page(
    browser: httpx.AsyncClient, emulator: EmulatorServer, client_secret: str, return_url: str, card: str
) -> tuple[httpx.Response, httpx.Response]:
    """Open the page the frontend sends the buyer to, then press the card's button: the page and
    where the browser ends up."""
    page = await browser.get(
        f"{emulator.base_url}/_emulator/pay",
        params={"client_secret": client_secret, "return_url": return_url},
    )
    assert page.status_code == 200, page.text
    assert f'name="card" value="{card}"' in page.text
    form = {name: html.unescape(value) for name, value in HIDDEN_FIELD.findall(page.text)}
    landed = await browser.post(f"{emulator.base_url}/_emulator/pay", data={**form, "card": card})
    return page, landed


async def eventually(
    read: Callable[[], Awaitable[dict[str, Any]]], holds: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The webhook is delivered and processed in the background: read until `holds`, ten seconds at most."""
    for _ in range(200):
        if holds(value := await read()):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached: {value}")


async def test_a_topup_paid_on_the_payment_page_is_credited_without_waiting_for_settlement(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    frontend: str,
    token: TokenFactory,
    settlement_waits: None,
) -> None:
    buyer = bearer(token("buyer-page-1", Role.BUYER))
    stripe_config = (await api.get("/config/stripe")).json()  # before sign-in: no token
    topup = await request_topup(api, buyer, 2500, "page-topup-1")

    page, landed = await pay_on_the_payment_page(
        browser, emulator, topup["client_secret"], frontend, SUCCEEDS
    )

    assert "25.00 USD" in page.text
    assert (landed.status_code, landed.text) == (200, "Thank you")
    assert str(landed.url).startswith(frontend)
    assert parse_qs(urlsplit(str(landed.url)).query) == {
        "payment_intent": [topup["payment_intent_id"]],
        "payment_intent_client_secret": [topup["client_secret"]],
        "redirect_status": ["succeeded"],
    }
    # The return page asks Stripe.js how the payment went, with the key the service handed out.
    stripe_js = emulator.stripe_client(api_key=stripe_config["publishable_key"])
    seen = await stripe_js.v1.payment_intents.retrieve_async(
        topup["payment_intent_id"], {"client_secret": topup["client_secret"]}
    )
    assert (seen.status, seen.amount, seen.currency) == ("succeeded", 2500, "usd")

    wallet = await eventually(
        lambda: _json(api.get("/wallet", headers=buyer)), lambda wallet: wallet["platform_balance"] == 2500
    )
    assert (wallet["pending_topups"], wallet["total_balance"]) == (0, 2500)
    status = (await api.get(f"/wallet/topups/{topup['topup_id']}", headers=buyer)).json()["status"]
    assert status == "succeeded"
    intent = await emulator.stripe_client().v1.payment_intents.retrieve_async(
        topup["payment_intent_id"], {"expand": ["latest_charge"]}
    )
    assert intent.latest_charge is not None
    assert not isinstance(intent.latest_charge, str)
    assert intent.latest_charge.balance_transaction is None, "credited before Stripe settled the charge"
    assert emulator.events("charge.updated") == []


async def test_a_declined_card_leaves_the_wallet_unchanged_and_the_topup_failed(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    frontend: str,
    token: TokenFactory,
) -> None:
    buyer = bearer(token("buyer-page-2", Role.BUYER))
    before = (await api.get("/wallet", headers=buyer)).json()
    topup = await request_topup(api, buyer, 1000, "page-topup-2")

    _, declined = await pay_on_the_payment_page(browser, emulator, topup["client_secret"], frontend, DECLINED)

    assert declined.status_code == 402
    assert "Your card was declined." in declined.text
    assert declined.history == [], "a declined card stays on the payment page"
    failed = await eventually(
        lambda: _json(api.get(f"/wallet/topups/{topup['topup_id']}", headers=buyer)),
        lambda topup: topup["status"] == "failed",
    )
    assert (failed["amount"], failed["currency"]) == (1000, "usd")
    after = (await api.get("/wallet", headers=buyer)).json()
    assert after == before
    assert emulator.events("payment_intent.succeeded") == []


async def _json(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    answer: dict[str, Any] = (await response).json()
    return answer
