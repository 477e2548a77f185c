"""The test payment page, driven as a browser drives it: an HTTP client following redirects from
the page to the merchant's `return_url`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from stripe_emulator.testing import BackgroundServer, EmulatorServer

SUCCESS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
THREE_D_SECURE = "4000002760003184"
DISPUTED = "4000000000000259"


@pytest.fixture(scope="module")
def merchant() -> Iterator[str]:
    """The merchant's return page, answering with the query it was sent back with."""

    async def returned(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url.query))

    with BackgroundServer(Starlette(routes=[Route("/return", returned)])) as server:
        yield f"{server.base_url}/return?order=o1"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as client:
        yield client


async def checkout(stripe_client: stripe.StripeClient, amount: int = 10_000) -> stripe.PaymentIntent:
    return await stripe_client.v1.payment_intents.create_async(
        {"amount": amount, "currency": "usd", "automatic_payment_methods": {"enabled": True}}
    )


def page_url(emulator: EmulatorServer, intent: stripe.PaymentIntent, return_url: str) -> str:
    query = httpx.QueryParams({"client_secret": intent.client_secret, "return_url": return_url})
    return f"{emulator.base_url}/_emulator/pay?{query}"


async def pay(
    browser: httpx.AsyncClient,
    emulator: EmulatorServer,
    intent: stripe.PaymentIntent,
    return_url: str,
    card: str,
) -> httpx.Response:
    page = await browser.get(page_url(emulator, intent, return_url))
    assert page.status_code == 200, page.text
    assert f'value="{card}"' in page.text
    form = {"client_secret": str(intent.client_secret), "return_url": return_url, "card": card}
    return await browser.post(f"{emulator.base_url}/_emulator/pay", data=form)


def returned_query(response: httpx.Response, merchant: str) -> dict[str, list[str]]:
    assert str(response.url).startswith(merchant.split("?")[0]), response.text
    return parse_qs(urlsplit(str(response.url)).query)


async def test_the_page_shows_the_amount_and_a_button_per_test_card(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, browser: httpx.AsyncClient, merchant: str
) -> None:
    intent = await checkout(stripe_client, 12_345)

    page = await browser.get(page_url(emulator, intent, merchant))

    assert page.headers["content-type"].startswith("text/html")
    assert "123.45 USD" in page.text
    buttons = re.findall(r'<button type="submit" name="card" value="(\d+)"', page.text)
    assert buttons == [SUCCESS, DECLINED, INSUFFICIENT_FUNDS, THREE_D_SECURE, DISPUTED, "4000000000005126"]


async def test_a_successful_card_returns_to_the_merchant_as_stripe_does(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, browser: httpx.AsyncClient, merchant: str
) -> None:
    intent = await checkout(stripe_client)

    landed = await pay(browser, emulator, intent, merchant, SUCCESS)

    assert landed.status_code == 200
    assert returned_query(landed, merchant) == {
        "order": ["o1"],
        "payment_intent": [intent.id],
        "payment_intent_client_secret": [str(intent.client_secret)],
        "redirect_status": ["succeeded"],
    }
    assert [response.status_code for response in landed.history] == [303]
    paid = await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    assert paid.status == "succeeded"
    [succeeded] = emulator.events("payment_intent.succeeded")
    assert succeeded["request"]["id"].startswith("req_")  # confirmed through the API, as Stripe.js


@pytest.mark.parametrize(
    ("card", "message"),
    [(DECLINED, "Your card was declined."), (INSUFFICIENT_FUNDS, "Your card has insufficient funds.")],
)
async def test_a_declined_card_stays_on_the_page_and_another_card_can_pay(
    stripe_client: stripe.StripeClient,
    emulator: EmulatorServer,
    browser: httpx.AsyncClient,
    merchant: str,
    card: str,
    message: str,
) -> None:
    intent = await checkout(stripe_client)

    declined = await pay(browser, emulator, intent, merchant, card)

    assert declined.status_code == 402
    assert message in declined.text
    assert declined.history == []
    assert (
        await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    ).status == "requires_payment_method"
    landed = await pay(browser, emulator, intent, merchant, SUCCESS)
    assert returned_query(landed, merchant)["redirect_status"] == ["succeeded"]


@pytest.mark.parametrize(
    ("outcome", "redirect_status", "status"),
    [
        ("complete", "succeeded", "succeeded"),
        ("fail", "failed", "requires_payment_method"),
    ],
)
async def test_3d_secure_authenticates_on_its_own_page_then_returns(
    stripe_client: stripe.StripeClient,
    emulator: EmulatorServer,
    browser: httpx.AsyncClient,
    merchant: str,
    outcome: str,
    redirect_status: str,
    status: str,
) -> None:
    intent = await checkout(stripe_client)

    challenge = await pay(browser, emulator, intent, merchant, THREE_D_SECURE)
    assert str(challenge.url) == f"{emulator.base_url}/_emulator/3ds/{intent.id}"
    assert "Complete authentication" in challenge.text
    assert "Fail authentication" in challenge.text
    waiting = await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    assert waiting.next_action is not None
    assert waiting.next_action.type == "redirect_to_url"
    landed = await browser.post(str(challenge.url), data={"outcome": outcome})

    assert returned_query(landed, merchant)["redirect_status"] == [redirect_status]
    after = await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    assert after.status == status
    if outcome == "fail":
        assert after.last_payment_error is not None
        assert after.last_payment_error.code == "payment_intent_authentication_failure"


async def test_the_dispute_card_pays_then_opens_a_dispute(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, browser: httpx.AsyncClient, merchant: str
) -> None:
    intent = await checkout(stripe_client)

    landed = await pay(browser, emulator, intent, merchant, DISPUTED)

    assert returned_query(landed, merchant)["redirect_status"] == ["succeeded"]
    [dispute] = (await stripe_client.v1.disputes.list_async()).data
    assert dispute.payment_intent == intent.id


async def test_a_paid_intent_shows_its_status_instead_of_cards(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, browser: httpx.AsyncClient, merchant: str
) -> None:
    intent = await checkout(stripe_client)
    await pay(browser, emulator, intent, merchant, SUCCESS)

    again = await browser.get(page_url(emulator, intent, merchant))

    assert "succeeded" in again.text
    assert 'name="card"' not in again.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"client_secret": "pi_nope_secret_x", "return_url": "https://m.test/r"}, 404),
        ({"return_url": "https://m.test/r"}, 400),
        ({"client_secret": "{secret}"}, 400),
        ({"client_secret": "{id}_secret_wrong", "return_url": "https://m.test/r"}, 400),
    ],
)
async def test_the_page_needs_the_intents_client_secret_and_a_return_url(
    stripe_client: stripe.StripeClient,
    emulator: EmulatorServer,
    browser: httpx.AsyncClient,
    query: dict[str, str],
    status: int,
) -> None:
    intent = await checkout(stripe_client)
    filled = {name: value.format(secret=intent.client_secret, id=intent.id) for name, value in query.items()}

    refused = await browser.get(f"{emulator.base_url}/_emulator/pay", params=filled)
    posted = await browser.post(f"{emulator.base_url}/_emulator/pay", data={**filled, "card": SUCCESS})

    assert (refused.status_code, posted.status_code) == (status, status)
    assert (
        await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    ).status == "requires_payment_method"
