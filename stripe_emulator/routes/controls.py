"""Test controls that move Stripe objects on, as customers, banks, Stripe and time would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from stripe_emulator.emulator import Emulator
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import (
    accounts,
    disputes,
    payment_intents,
    payouts,
    refunds,
    seeding,
    settlement,
    time_passing,
)
from stripe_emulator.routes.control_http import BadControlRequest, control, field

AccountAction = Callable[[Emulator, str, dict[str, Any]], JsonObject]


def _fields(body: dict[str, Any]) -> list[str]:
    names = field(body, "fields", list, [accounts.VERIFICATION_DOCUMENT])
    if not names or not all(isinstance(name, str) for name in names):
        raise BadControlRequest("'fields' must be a non-empty list of requirement names")
    return list(names)


def _seconds(body: dict[str, Any], name: str, default: int) -> int:
    seconds: int = field(body, name, int, default)
    if seconds < 0:
        raise BadControlRequest(f"'{name}' cannot be negative")
    return seconds


_ACCOUNT_ACTIONS: dict[str, AccountAction] = {
    "verify": lambda emu, account, body: accounts.verify(emu, account, field(body, "account_number", str)),
    "restrict": lambda emu, account, body: accounts.restrict(emu, account),
    "review": lambda emu, account, body: accounts.review(emu, account),
    "reject": lambda emu, account, body: accounts.reject(emu, account, field(body, "reason", str, "other")),
    "require": lambda emu, account, body: accounts.require(
        emu, account, _fields(body), _seconds(body, "due_in_seconds", 7 * 86_400)
    ),
    "future_requirements": lambda emu, account, body: accounts.add_future_requirements(
        emu, account, _fields(body), _seconds(body, "due_in_seconds", 30 * 86_400)
    ),
}
_PAYMENT_INTENT_ACTIONS = {"succeed": payment_intents.complete, "fail": payment_intents.fail}
_DISPUTE_ACTIONS = {"win": disputes.win, "lose": disputes.lose}


def _action(request: Request, actions: dict[str, Any]) -> Any:
    name = request.path_params["action"]
    if name not in actions:
        raise BadControlRequest(f"Unknown action '{name}'; expected one of {', '.join(actions)}")
    return actions[name]


async def _account_action(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    action: AccountAction = _action(request, _ACCOUNT_ACTIONS)
    return action(emu, request.path_params["id"], body)


async def _settle_account(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    """Every pending balance transaction of one account (the platform's id: the platform) now."""
    account_id = request.path_params["id"]
    holder = (
        None if account_id == emu.platform_account_id else accounts.connected_account(emu, account_id)["id"]
    )
    return {"settled": settlement.settle_now(emu, lambda account: account == holder)}


async def _payment_intent_action(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    intent: JsonObject = _action(request, _PAYMENT_INTENT_ACTIONS)(emu, request.path_params["id"])
    return intent


async def _post_balance_transaction(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return settlement.post_balance_transaction(emu, request.path_params["id"])


async def _succeed_refund(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return refunds.succeed(emu, request.path_params["id"])


async def _fail_refund(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return refunds.fail(emu, request.path_params["id"], field(body, "failure_reason", str))


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
    return {"settled": settlement.settle_now(emu, lambda account: True)}


async def _expire_link(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    link = accounts.account_link(emu, request.path_params["token"])
    link.expired = True
    return {"account": link.account, "expired": True}


async def _seed_paid_intents(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    count: int = field(body, "count", int, 1)
    if not 1 <= count <= seeding.MAX_SEEDED_PER_CALL:
        raise BadControlRequest(f"'count' must be between 1 and {seeding.MAX_SEEDED_PER_CALL}")
    amount: int = field(body, "amount", int, 1000)
    if amount < 1:
        raise BadControlRequest("'amount' must be positive")
    metadata: dict[str, Any] = field(body, "metadata", dict, {})
    if not all(isinstance(value, str) for value in metadata.values()):
        raise BadControlRequest("'metadata' values must be strings")
    currency: str = field(body, "currency", str, "usd")
    return {"seeded": seeding.seed_paid_intents(emu, count, amount, currency, metadata)}


async def _clock(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return {"now": emu.clock.now(), "offset_seconds": emu.clock.offset_seconds}


async def _advance_clock(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    released = time_passing.advance(emu, field(body, "seconds", int, 0))
    return {"now": emu.clock.now(), "offset_seconds": emu.clock.offset_seconds, "settled": released}


ROUTES = [
    Route("/_emulator/accounts/{id}/settle", control(_settle_account), methods=["POST"]),
    Route("/_emulator/accounts/{id}/{action}", control(_account_action), methods=["POST"]),
    Route("/_emulator/account_links/{token}/expire", control(_expire_link), methods=["POST"]),
    Route(
        "/_emulator/payment_intents/{id}/{action}",
        control(_payment_intent_action),
        methods=["POST"],
    ),
    Route("/_emulator/charges/{id}/dispute", control(_open_dispute), methods=["POST"]),
    Route(
        "/_emulator/charges/{id}/balance_transaction",
        control(_post_balance_transaction),
        methods=["POST"],
    ),
    Route("/_emulator/refunds/{id}/succeed", control(_succeed_refund), methods=["POST"]),
    Route("/_emulator/refunds/{id}/fail", control(_fail_refund), methods=["POST"]),
    Route("/_emulator/payouts/{id}/pay", control(_pay_payout), methods=["POST"]),
    Route("/_emulator/payouts/{id}/fail", control(_fail_payout), methods=["POST"]),
    Route("/_emulator/disputes/{id}/{action}", control(_dispute_action), methods=["POST"]),
    Route("/_emulator/balance/settle", control(_settle), methods=["POST"]),
    Route("/_emulator/seed/payment_intents", control(_seed_paid_intents), methods=["POST"]),
    Route("/_emulator/clock", control(_clock), methods=["GET"]),
    Route("/_emulator/clock/advance", control(_advance_clock), methods=["POST"]),
]
