"""Connected accounts, their onboarding links and their verification states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id, now
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    deep_merge,
    fixture,
    from_fixture,
    list_object,
    merged_metadata,
    snapshot,
)

ONBOARDING_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
RESTRICTION_REQUIREMENTS = ["individual.verification.document"]
ACCOUNT_LINK_LIFETIME_SECONDS = 300

# Parameters merged as they are into the account object.
_PROFILE_PARAMS = ("business_profile", "settings", "tos_acceptance", "individual", "company")
_PLAIN_PARAMS = ("email", "business_type", "default_currency")


def connected_account(emu: Emulator, account_id: str, *, param: str = "id") -> JsonObject:
    return emu.store.require("account", account_id, param=param)


def platform_account(emu: Emulator) -> JsonObject:
    return from_fixture(
        "account",
        id=emu.platform_account_id,
        created=now(),
        type="standard",
        capabilities={"card_payments": "active", "transfers": "active"},
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        email=None,
        requirements=_requirements(),
    )


def create_account(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    account_id = new_id("acct")
    account = from_fixture(
        "account",
        id=account_id,
        created=now(),
        type=_account_type(params),
        controller=_controller(params),
        country=params.get("country", "US"),
        email=None,
        business_type=None,
        capabilities={},
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        metadata={},
        requirements=_requirements(
            due=ONBOARDING_REQUIREMENTS, past_due=[], disabled_reason="requirements.past_due"
        ),
        external_accounts=list_object(f"/v1/accounts/{account_id}/external_accounts", []),
    )
    _apply(account, params)
    return emu.store.add(account)


def update_account(emu: Emulator, account_id: str, params: dict[str, Any]) -> JsonObject:
    return _change(emu, account_id, lambda account: _apply(account, params))


def verify(emu: Emulator, account_id: str) -> JsonObject:
    def mark_verified(account: JsonObject) -> None:
        account["requirements"] = _requirements()
        account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
        account["charges_enabled"] = True
        account["payouts_enabled"] = True
        account["details_submitted"] = True
        tos = account["tos_acceptance"]
        tos["date"] = tos["date"] or now()
        tos["ip"] = tos["ip"] or "127.0.0.1"

    return _change(emu, account_id, mark_verified)


def restrict(emu: Emulator, account_id: str) -> JsonObject:
    def mark_restricted(account: JsonObject) -> None:
        account["requirements"] = _requirements(
            due=RESTRICTION_REQUIREMENTS,
            past_due=RESTRICTION_REQUIREMENTS,
            disabled_reason="requirements.past_due",
        )
        account["payouts_enabled"] = False

    return _change(emu, account_id, mark_restricted)


def reject(emu: Emulator, account_id: str) -> JsonObject:
    def mark_rejected(account: JsonObject) -> None:
        account["requirements"] = _requirements(disabled_reason="rejected.other")
        account["capabilities"] = dict.fromkeys(account["capabilities"], "inactive")
        account["charges_enabled"] = False
        account["payouts_enabled"] = False

    return _change(emu, account_id, mark_rejected)


def create_account_link(emu: Emulator, params: dict[str, Any], base_url: str) -> JsonObject:
    account = connected_account(emu, params["account"], param="account")
    if "return_url" in params:
        emu.onboarding_return_urls[account["id"]] = params["return_url"]
    created = now()
    return from_fixture(
        "account_link",
        created=created,
        expires_at=created + ACCOUNT_LINK_LIFETIME_SECONDS,
        url=f"{base_url}/_emulator/onboarding/{account['id']}",
    )


def _change(emu: Emulator, account_id: str, mutate: Callable[[JsonObject], None]) -> JsonObject:
    account = connected_account(emu, account_id)
    before = snapshot(account)
    mutate(account)
    changes = changed_fields(before, account)
    if changes:
        emit(emu, "account.updated", account, account=account_id, previous=changes)
    return account


def _apply(account: JsonObject, params: dict[str, Any]) -> None:
    for name in _PLAIN_PARAMS:
        if name in params:
            account[name] = params[name]
    for name in _PROFILE_PARAMS:
        if isinstance(params.get(name), dict):
            account.setdefault(name, {})
            deep_merge(account[name], params[name])
    account["metadata"] = merged_metadata(account["metadata"], params.get("metadata"))
    _request_capabilities(account, params.get("capabilities", {}))


def _request_capabilities(account: JsonObject, requested: dict[str, Any]) -> None:
    status = "active" if account["details_submitted"] and account["payouts_enabled"] else "inactive"
    for name, request in requested.items():
        if request.get("requested") is True:
            account["capabilities"].setdefault(name, status)
        elif request.get("requested") is False:
            account["capabilities"].pop(name, None)


def _account_type(params: dict[str, Any]) -> str:
    if "type" in params:
        account_type: str = params["type"]
        return account_type
    dashboard = params.get("controller", {}).get("stripe_dashboard", {}).get("type")
    return {"express": "express", "none": "custom"}.get(dashboard, "standard")


def _controller(params: dict[str, Any]) -> JsonObject:
    if "controller" not in params and params.get("type", "standard") == "standard":
        return {"type": "account"}
    return {"type": "application", "is_controller": True, **params.get("controller", {})}


def _requirements(
    *,
    due: list[str] | None = None,
    past_due: list[str] | None = None,
    disabled_reason: str | None = None,
) -> JsonObject:
    requirements: JsonObject = fixture("account")["requirements"]
    requirements.update(
        currently_due=list(due or []),
        eventually_due=list(due or []),
        past_due=list(past_due or []),
        pending_verification=[],
        errors=[],
        current_deadline=None,
        disabled_reason=disabled_reason,
    )
    return requirements
