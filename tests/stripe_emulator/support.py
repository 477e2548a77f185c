"""Building blocks for the emulator's own tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stripe.params import AccountCreateParams

from stripe_emulator.testing import BackgroundServer, EmulatorServer

FIXTURES = Path(__file__).resolve().parents[2] / "stripe_emulator" / "fixtures3.json"

CONNECTED_ACCOUNT_PARAMS: dict[str, Any] = {
    "controller": {
        "fees": {"payer": "application"},
        "losses": {"payments": "application"},
        "requirement_collection": "application",
        "stripe_dashboard": {"type": "none"},
    },
    "capabilities": {"transfers": {"requested": True}},
    "country": "US",
    "email": "seller@example.com",
    "settings": {"payouts": {"schedule": {"interval": "manual"}}},
}


def headers(obj: stripe.StripeObject) -> Mapping[str, str]:
    """The HTTP headers of the response that carried `obj`."""
    assert obj.last_response is not None
    return obj.last_response.headers


def error_body(error: stripe.StripeError) -> dict[str, Any]:
    """The `error` object of a Stripe error response."""
    assert isinstance(error.json_body, dict)
    body: dict[str, Any] = error.json_body["error"]
    return body


async def close(http_client: stripe.HTTPXClient) -> None:
    await http_client.close_async()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


def stripe_fixtures() -> dict[str, dict[str, Any]]:
    """Stripe's example objects, from the emulator's copy of Stripe's fixtures."""
    resources: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())["resources"]
    return resources


async def new_account(client: stripe.StripeClient, **params: Any) -> stripe.Account:
    merged = cast("AccountCreateParams", {**CONNECTED_ACCOUNT_PARAMS, **params})
    return await client.v1.accounts.create_async(merged)


async def verified_account(client: stripe.StripeClient, emulator: EmulatorServer) -> str:
    account = await new_account(client)
    emulator.control(f"accounts/{account.id}/verify")
    return account.id


async def paid_intent(
    client: stripe.StripeClient,
    amount: int = 10_000,
    payment_method: str = "pm_card_visa",
    **params: Any,
) -> stripe.PaymentIntent:
    intent_params: dict[str, Any] = {
        "amount": amount,
        "currency": "usd",
        "payment_method": payment_method,
        "confirm": True,
        **params,
    }
    return await client.v1.payment_intents.create_async(cast(Any, intent_params))


async def funded_platform(
    client: stripe.StripeClient,
    emulator: EmulatorServer,
    amount: int = 10_000,
    payment_method: str = "pm_card_visa",
) -> stripe.PaymentIntent:
    """A paid intent whose net funds are already available on the platform balance."""
    intent = await paid_intent(client, amount, payment_method)
    emulator.settle_balances()
    return intent


async def available(client: stripe.StripeClient, account: str | None = None) -> int:
    balance = await _balance(client, account)
    return sum(entry.amount for entry in balance.available if entry.currency == "usd")


async def pending(client: stripe.StripeClient, account: str | None = None) -> int:
    balance = await _balance(client, account)
    return sum(entry.amount for entry in balance.pending if entry.currency == "usd")


async def _balance(client: stripe.StripeClient, account: str | None) -> stripe.Balance:
    if account is None:
        return await client.v1.balance.retrieve_async()
    return await client.v1.balance.retrieve_async(options={"stripe_account": account})


@dataclass
class ReceivedWebhook:
    body: str
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@dataclass
class WebhookReceiver:
    """A webhook endpoint answering the scripted statuses first, then 200; records every call."""

    received: list[ReceivedWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.base_url}/webhooks"

    def clear(self) -> None:
        self.received.clear()
        self.statuses.clear()

    def event_ids(self) -> list[str]:
        return [webhook.event["id"] for webhook in self.received]

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = (await request.body()).decode()
            self.received.append(ReceivedWebhook(body, request.headers["stripe-signature"]))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])
