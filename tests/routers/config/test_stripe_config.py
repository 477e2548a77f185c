"""`GET /config/stripe`: what a frontend needs to pay with Stripe.js, public, and only that."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from app.main import create_app
from tests.conftest import STRIPE_PUBLISHABLE_TEST_KEY, STRIPE_TEST_KEY, make_settings


async def config_answer(**settings: object) -> httpx.Response:
    """The answer of an application with these settings; the route reads settings alone, so the
    application's services need not start."""
    app = create_app(make_settings("mongodb://unused", **settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/config/stripe")


async def test_a_frontend_reads_the_publishable_key_and_currency_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/config/stripe")

    assert response.status_code == 200, response.text
    assert response.json() == {"publishable_key": STRIPE_PUBLISHABLE_TEST_KEY, "currency": "usd"}
    assert STRIPE_TEST_KEY not in response.text


async def test_the_currency_is_the_platform_currency() -> None:
    response = await config_answer(platform_currency="eur")
    assert response.json()["currency"] == "eur"


async def test_without_a_publishable_key_the_answer_is_a_503_problem() -> None:
    unconfigured = await config_answer(stripe_publishable_key=None)

    assert unconfigured.status_code == 503
    assert unconfigured.headers["content-type"] == "application/problem+json"
    problem = unconfigured.json()
    assert problem["code"] == "stripe_publishable_key_missing"
    assert "STRIPE_PUBLISHABLE_KEY" in problem["detail"]


@pytest.mark.parametrize(
    ("secret_key", "publishable_key"),
    [
        ("sk_test_a", "pk_test_b"),
        ("rk_test_a", "pk_test_b"),
        ("sk_live_a", "pk_live_b"),
        ("rk_live_a", "pk_live_b"),
    ],
)
def test_a_publishable_key_of_the_secret_keys_mode_is_accepted(secret_key: str, publishable_key: str) -> None:
    settings = make_settings(
        "mongodb://unused", stripe_secret_key=secret_key, stripe_publishable_key=publishable_key
    )
    assert settings.stripe_publishable_key == publishable_key


@pytest.mark.parametrize(
    ("secret_key", "publishable_key", "reason"),
    [
        ("sk_test_a", "sk_test_a", "publishable key"),
        ("sk_test_a", "pk_b", "publishable key"),
        ("sk_test_a", "pk_live_b", "same mode"),
        ("rk_test_a", "pk_live_b", "same mode"),
        ("sk_live_a", "pk_test_b", "same mode"),
        ("rk_live_a", "pk_test_b", "same mode"),
    ],
)
def test_a_wrong_publishable_key_is_refused_by_name(
    secret_key: str, publishable_key: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(
            "mongodb://unused", stripe_secret_key=secret_key, stripe_publishable_key=publishable_key
        )

    [error] = refused.value.errors()
    assert error["loc"] == ("stripe_publishable_key",)
    assert reason in error["msg"]
