"""Test controls that move Stripe objects on, as customers, banks and Stripe would."""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator.balances import settle
from stripe_emulator.emulator import Emulator
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import accounts, disputes, payment_intents, payouts
from stripe_emulator.routes.control_http import BadControlRequest, control, field

_ACCOUNT_ACTIONS = {
    "verify": accounts.verify,
    "restrict": accounts.restrict,
    "reject": accounts.reject,
}
_PAYMENT_INTENT_ACTIONS = {"succeed": payment_intents.complete, "fail": payment_intents.fail}
_DISPUTE_ACTIONS = {"win": disputes.win, "lose": disputes.lose}


def _action(request: Request, actions: dict[str, Any]) -> Any:
    name = request.path_params["action"]
    if name not in actions:
        raise BadControlRequest(f"Unknown action '{name}'; expected one of {', '.join(actions)}")
    return actions[name]


async def _account_action(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    account: JsonObject = _action(request, _ACCOUNT_ACTIONS)(emu, request.path_params["id"])
    return account


async def _payment_intent_action(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    intent: JsonObject = _action(request, _PAYMENT_INTENT_ACTIONS)(emu, request.path_params["id"])
    return intent


async def _pay_payout(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return payouts.pay(emu, request.path_params["id"])


async def _fail_payout(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return payouts.fail(emu, request.path_params["id"], field(body, "failure_code", str))


async def _open_dispute(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return disputes.open_dispute(
        emu,
        request.path_params["id"],
        reason=field(body, "reason", str, "fraudulent"),
        amount=field(body, "amount", int),
    )


async def _dispute_action(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    dispute: JsonObject = _action(request, _DISPUTE_ACTIONS)(emu, request.path_params["id"])
    return dispute


async def _settle(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return {"settled": settle(emu.store)}


async def _onboarding_page(request: Request, emu: Emulator, body: dict[str, Any]) -> Response:
    account = accounts.connected_account(emu, request.path_params["id"])
    account_id = html.escape(account["id"])
    return HTMLResponse(
        f"<!doctype html><title>Onboarding {account_id}</title>"
        f"<h1>Stripe emulator: onboarding of {account_id}</h1>"
        f'<form method="post"><button type="submit">Submit verified details</button></form>'
    )


async def _complete_onboarding(request: Request, emu: Emulator, body: dict[str, Any]) -> Response:
    account = accounts.verify(emu, request.path_params["id"])
    return_url = emu.onboarding_return_urls.get(account["id"])
    if return_url is None:
        return HTMLResponse("<!doctype html><p>Onboarding complete.</p>")
    return RedirectResponse(return_url, status_code=303)


ROUTES = [
    Route("/_emulator/accounts/{id}/{action}", control(_account_action), methods=["POST"]),
    Route(
        "/_emulator/payment_intents/{id}/{action}",
        control(_payment_intent_action),
        methods=["POST"],
    ),
    Route("/_emulator/payouts/{id}/pay", control(_pay_payout), methods=["POST"]),
    Route("/_emulator/payouts/{id}/fail", control(_fail_payout), methods=["POST"]),
    Route("/_emulator/charges/{id}/dispute", control(_open_dispute), methods=["POST"]),
    Route("/_emulator/disputes/{id}/{action}", control(_dispute_action), methods=["POST"]),
    Route("/_emulator/balance/settle", control(_settle), methods=["POST"]),
    Route("/_emulator/onboarding/{id}", control(_onboarding_page), methods=["GET"]),
    Route("/_emulator/onboarding/{id}", control(_complete_onboarding), methods=["POST"]),
]
