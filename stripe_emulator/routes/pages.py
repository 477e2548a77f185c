"""Pages a browser (or an HTTP client following redirects) goes through, as with Stripe's hosted
pages: account onboarding behind an account link, the test payment page, and the 3-D Secure
authentication page. Plain server-rendered HTML with forms; no JavaScript needed.

The payment page confirms as Stripe.js does: `POST /v1/payment_intents/{id}/confirm` with the
publishable key, the intent's `client_secret`, the card in `payment_method_data[card]` and a
`return_url`, through the emulator's own API. Stripe.js then sends the customer to `return_url`
with `payment_intent`, `payment_intent_client_secret` and `redirect_status` in the query; a
declined card stays on the page with the decline message, as Stripe's payment form does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import accounts, bank_accounts, payment_intents

PageHandler = Callable[[Request, Emulator, dict[str, str]], Awaitable[Response]]

# The cards offered on the payment page (Stripe's test card numbers).
PAYMENT_PAGE_CARDS = (
    ("4242424242424242", "Visa: succeeds"),
    ("4000000000000002", "Declined: generic decline"),
    ("4000000000009995", "Declined: insufficient funds"),
    ("4000002760003184", "3-D Secure: authenticate, then approve or fail"),
    ("4000000000000259", "Succeeds, then disputed (fraudulent)"),
    ("4000000000005126", "Succeeds; its refunds fail"),
)
_BANK_ACCOUNT_CHOICES = {
    bank_accounts.PAYING_ACCOUNT_NUMBER: "payouts succeed",
    **{number: f"payouts fail: {code}" for number, code in bank_accounts.PAYOUT_FAILURES.items()},
}


def page(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a page handler taking (request, emulator, form or query fields)."""

    async def endpoint(request: Request) -> Response:
        emu: Emulator = request.app.state.emulator
        if request.method == "POST":
            fields = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        else:
            fields = dict(request.query_params)
        try:
            return await handler(request, emu, fields)
        except errors.StripeError as error:
            return _html(f"Error {error.status}", f"<p>{html.escape(error.message)}</p>", error.status)

    return endpoint


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    heading = html.escape(title)
    return HTMLResponse(
        f"<!doctype html><title>{heading}</title><h1>Stripe emulator: {heading}</h1>{body}",
        status_code=status,
    )


def _hidden(**fields: str) -> str:
    return "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in fields.items()
    )


# Onboarding behind an account link


async def _onboarding_page(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    link = accounts.account_link(emu, request.path_params["token"])
    if link.visited or not accounts.link_usable(emu, link):
        return _refresh(link.refresh_url)
    link.visited = True
    account_id = html.escape(link.account)
    options = "".join(
        f'<option value="{number}">{number} ({label})</option>'
        for number, label in _BANK_ACCOUNT_CHOICES.items()
    )
    return _html(
        f"Onboarding {link.account}",
        f"<p>Account {account_id}</p>"
        f'<form method="post"><label>Bank account number (routing {bank_accounts.TEST_ROUTING_NUMBER}) '
        f'<select name="account_number">{options}</select></label>'
        f'<button type="submit">Submit verified details</button></form>',
    )


async def _complete_onboarding(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    link = accounts.account_link(emu, request.path_params["token"])
    if not accounts.link_usable(emu, link):
        return _refresh(link.refresh_url)
    accounts.verify(emu, link.account, fields.get("account_number") or None)
    link.used = True
    if link.return_url is None:
        return _html("Onboarding complete", "<p>Onboarding complete.</p>")
    return RedirectResponse(link.return_url, status_code=303)


def _refresh(refresh_url: str | None) -> Response:
    """An expired or already used link sends the user to `refresh_url`, for a fresh link."""
    if refresh_url is None:
        return _html("Link expired", "<p>This account link has expired or was already used.</p>", 410)
    return RedirectResponse(refresh_url, status_code=302)


# The test payment page


async def _payment_page(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    intent, return_url = _payment(emu, fields)
    return _payment_form(intent, return_url)


async def _pay(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    intent, return_url = _payment(emu, fields)
    if "card" not in fields:
        raise errors.missing_parameter("card")
    status, answer = await _confirm_as_stripe_js(request, emu, intent, fields["card"], return_url)
    if status != 200:
        return _payment_form(intent, return_url, error=answer["error"]["message"], status=status)
    next_action = answer["next_action"]
    if next_action is not None and next_action["type"] == "redirect_to_url":
        return RedirectResponse(next_action["redirect_to_url"]["url"], status_code=303)
    return _back_to_merchant(answer, return_url)


def _payment(emu: Emulator, fields: dict[str, str]) -> tuple[JsonObject, str]:
    for name in ("client_secret", "return_url"):
        if not fields.get(name):
            raise errors.missing_parameter(name)
    client_secret = fields["client_secret"]
    intent = payment_intents.get_intent(emu, client_secret.partition("_secret_")[0])
    payment_intents.check_client_secret(intent, {"client_secret": client_secret}, publishable=True)
    return intent, fields["return_url"]


def _payment_form(
    intent: JsonObject, return_url: str, *, error: str | None = None, status: int = 200
) -> Response:
    amount = f"{intent['amount'] / 100:.2f} {intent['currency'].upper()}"
    if intent["status"] not in payment_intents.CONFIRMABLE:
        return _html(
            f"Payment {intent['status']}",
            f"<p>{html.escape(amount)}: this payment is {html.escape(intent['status'])}.</p>"
            f'<p><a href="{html.escape(_return_address(intent, return_url))}">Back to the merchant</a></p>',
        )
    buttons = "".join(
        f'<p><button type="submit" name="card" value="{number}">{html.escape(label)} ({number})</button></p>'
        for number, label in PAYMENT_PAGE_CARDS
    )
    message = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return _html(
        f"Pay {amount}",
        f"<p>Amount: <strong>{html.escape(amount)}</strong></p>{message}"
        f'<form method="post" action="/_emulator/pay">'
        f"{_hidden(client_secret=intent['client_secret'], return_url=return_url)}{buttons}</form>",
        status,
    )


async def _confirm_as_stripe_js(
    request: Request, emu: Emulator, intent: JsonObject, number: str, return_url: str
) -> tuple[int, JsonObject]:
    """Confirm through the emulator's own API with the publishable key, as Stripe.js would."""
    body = {
        "client_secret": intent["client_secret"],
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": number,
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": str(datetime.now(UTC).year + 5),
        "payment_method_data[card][cvc]": "123",
        "return_url": return_url,
    }
    transport = httpx.ASGITransport(app=request.app.state.api)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        response = await client.post(
            f"/v1/payment_intents/{intent['id']}/confirm",
            data=body,
            headers={"Authorization": f"Bearer {emu.config.publishable_key}"},
        )
    answer: JsonObject = json.loads(response.content)
    return response.status_code, answer


# The 3-D Secure authentication page (`next_action.redirect_to_url.url`)


async def _authentication_page(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    intent = payment_intents.get_intent(emu, request.path_params["id"])
    redirect = _redirect_action(intent)
    amount = f"{intent['amount'] / 100:.2f} {intent['currency'].upper()}"
    buttons = (
        '<button type="submit" name="outcome" value="complete">Complete authentication</button> '
        '<button type="submit" name="outcome" value="fail">Fail authentication</button>'
    )
    return _html(
        "3-D Secure authentication",
        f"<p>The bank asks the customer to authenticate a payment of {html.escape(amount)}.</p>"
        f'<form method="post">{buttons}</form>'
        f"<p>Returning to {html.escape(redirect['return_url'])}</p>",
    )


async def _authenticate(request: Request, emu: Emulator, fields: dict[str, str]) -> Response:
    intent = payment_intents.get_intent(emu, request.path_params["id"])
    return_url = _redirect_action(intent)["return_url"]
    outcome = fields.get("outcome")
    if outcome == "complete":
        payment_intents.complete(emu, intent["id"])
    elif outcome == "fail":
        payment_intents.fail(emu, intent["id"])
    else:
        raise errors.invalid_request("outcome must be complete or fail", param="outcome")
    return _back_to_merchant(intent, return_url)


def _redirect_action(intent: JsonObject) -> Any:
    next_action = intent["next_action"]
    if (
        intent["status"] != "requires_action"
        or next_action is None
        or next_action["type"] != "redirect_to_url"
    ):
        raise errors.unexpected_state(
            f"This PaymentIntent's status is {intent['status']}; nothing to authenticate."
        )
    return next_action["redirect_to_url"]


def _back_to_merchant(intent: JsonObject, return_url: str) -> Response:
    return RedirectResponse(_return_address(intent, return_url), status_code=303)


def _return_address(intent: JsonObject, return_url: str) -> str:
    """`return_url` with the query Stripe adds: the intent, its client secret, and how it ended."""
    redirect_status = {"succeeded": "succeeded", "processing": "processing"}.get(intent["status"], "failed")
    parts = urlsplit(return_url)
    query = [
        *parse_qsl(parts.query, keep_blank_values=True),
        ("payment_intent", intent["id"]),
        ("payment_intent_client_secret", intent["client_secret"]),
        ("redirect_status", redirect_status),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


ROUTES = [
    Route("/_emulator/onboarding/{token}", page(_onboarding_page), methods=["GET"]),
    Route("/_emulator/onboarding/{token}", page(_complete_onboarding), methods=["POST"]),
    Route("/_emulator/pay", page(_payment_page), methods=["GET"]),
    Route("/_emulator/pay", page(_pay), methods=["POST"]),
    Route("/_emulator/3ds/{id}", page(_authentication_page), methods=["GET"]),
    Route("/_emulator/3ds/{id}", page(_authenticate), methods=["POST"]),
]
