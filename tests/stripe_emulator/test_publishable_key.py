"""The publishable key: it confirms and retrieves a PaymentIntent with that intent's client
secret, as Stripe.js does, and reaches nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import close, error_body

CARD_DATA = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2034",
    "payment_method_data[card][cvc]": "123",
}


@pytest.fixture
async def browser_client(emulator: EmulatorServer) -> AsyncIterator[stripe.StripeClient]:
    """The official SDK holding the publishable key, as a frontend would."""
    http_client = stripe.HTTPXClient()
    yield emulator.stripe_client(http_client, api_key=emulator.settings.publishable_key)
    await close(http_client)


@pytest.fixture
async def stripe_js(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP with the publishable key and no Stripe-Version, as Stripe.js sends it."""
    headers = {"Authorization": f"Bearer {emulator.settings.publishable_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        yield client


async def new_intent(stripe_client: stripe.StripeClient) -> stripe.PaymentIntent:
    return await stripe_client.v1.payment_intents.create_async(
        {"amount": 2_500, "currency": "usd", "metadata": {"buyer": "b1"}}
    )


async def test_a_publishable_key_retrieves_an_intent_with_its_client_secret(
    stripe_client: stripe.StripeClient, browser_client: stripe.StripeClient
) -> None:
    intent = await new_intent(stripe_client)

    seen = await browser_client.v1.payment_intents.retrieve_async(
        intent.id, {"client_secret": str(intent.client_secret)}
    )

    assert (seen.id, seen.amount, seen.status) == (intent.id, 2_500, "requires_payment_method")
    assert seen.client_secret == intent.client_secret
    assert "metadata" not in seen  # Stripe.js sees only part of the intent
    assert "customer" not in seen


async def test_a_publishable_key_confirms_with_the_client_secret_and_a_payment_method(
    stripe_client: stripe.StripeClient, stripe_js: httpx.AsyncClient, emulator: EmulatorServer
) -> None:
    intent = await new_intent(stripe_client)

    confirmed = await stripe_js.post(
        f"/v1/payment_intents/{intent.id}/confirm",
        data={"client_secret": intent.client_secret, "payment_method": "pm_card_visa"},
    )

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert "latest_charge" not in confirmed.json()
    [succeeded] = emulator.events("payment_intent.succeeded")
    assert succeeded["request"]["id"] == confirmed.headers["Request-Id"]


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("4242424242424242", 200, None),
        ("4000000000000002", 402, "card_declined"),
        ("4000000000009995", 402, "card_declined"),
        ("4000000000000010", 402, "card_declined"),  # a real-looking card in test mode
        ("4242424242424241", 402, "incorrect_number"),
    ],
)
async def test_a_publishable_key_confirms_with_the_card_in_payment_method_data(
    stripe_client: stripe.StripeClient,
    stripe_js: httpx.AsyncClient,
    number: str,
    status: int,
    code: str | None,
) -> None:
    intent = await new_intent(stripe_client)

    answer = await stripe_js.post(
        f"/v1/payment_intents/{intent.id}/confirm",
        data={
            "client_secret": intent.client_secret,
            **CARD_DATA,
            "payment_method_data[card][number]": number,
        },
    )

    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["error"]["code"] == code
    after = await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    assert after.status == ("succeeded" if status == 200 else "requires_payment_method")


async def test_a_declined_card_answers_the_intent_as_stripe_js_sees_it(
    stripe_client: stripe.StripeClient, stripe_js: httpx.AsyncClient
) -> None:
    intent = await new_intent(stripe_client)

    declined = await stripe_js.post(
        f"/v1/payment_intents/{intent.id}/confirm",
        data={
            "client_secret": intent.client_secret,
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
        },
    )

    error = declined.json()["error"]
    assert (declined.status_code, error["type"], error["decline_code"]) == (
        402,
        "card_error",
        "insufficient_funds",
    )
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert "metadata" not in error["payment_intent"]


@pytest.mark.parametrize("path", ["retrieve", "confirm"])
async def test_a_wrong_or_missing_client_secret_is_refused(
    stripe_client: stripe.StripeClient, stripe_js: httpx.AsyncClient, path: str
) -> None:
    intent = await new_intent(stripe_client)
    other = await new_intent(stripe_client)

    async def call(params: dict[str, Any]) -> httpx.Response:
        if path == "retrieve":
            return await stripe_js.get(f"/v1/payment_intents/{intent.id}", params=params)
        return await stripe_js.post(
            f"/v1/payment_intents/{intent.id}/confirm", data={**params, "payment_method": "pm_card_visa"}
        )

    wrong = await call({"client_secret": other.client_secret})
    missing = await call({})

    assert (wrong.status_code, wrong.json()["error"]["param"]) == (400, "client_secret")
    assert "does not match" in wrong.json()["error"]["message"]
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "parameter_missing")
    assert (
        await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    ).status == "requires_payment_method"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/payment_intents"),
        ("POST", "/v1/payment_intents"),
        ("POST", "/v1/payment_intents/{intent}/cancel"),
        ("GET", "/v1/balance"),
        ("POST", "/v1/refunds"),
        ("GET", "/v1/charges"),
        ("GET", "/v1/accounts"),
    ],
)
async def test_a_publishable_key_reaches_nothing_else(
    stripe_client: stripe.StripeClient, stripe_js: httpx.AsyncClient, method: str, path: str
) -> None:
    intent = await new_intent(stripe_client)

    refused = await stripe_js.request(
        method, path.format(intent=intent.id), params={"client_secret": intent.client_secret}
    )

    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["message"].startswith(
        "This API call cannot be made with a publishable API key. Please use a secret API key."
    )
    assert (
        await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    ).status == "requires_payment_method"


async def test_the_sdk_reports_a_publishable_key_misused_as_an_authentication_error(
    browser_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.AuthenticationError) as refused:
        await browser_client.v1.balance.retrieve_async()
    assert error_body(refused.value)["message"].startswith("This API call cannot be made")


async def test_a_secret_key_may_not_send_raw_card_numbers(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await new_intent(stripe_client)
    async with httpx.AsyncClient(
        base_url=emulator.base_url, headers={"Authorization": f"Bearer {emulator.settings.api_key}"}
    ) as server:
        refused = await server.post(
            f"/v1/payment_intents/{intent.id}/confirm",
            data={**CARD_DATA, "payment_method_data[card][number]": "4242424242424242"},
        )

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "payment_method_data[type]"  # the SDK has no card type
    assert (
        await stripe_client.v1.payment_intents.retrieve_async(intent.id)
    ).status == "requires_payment_method"
