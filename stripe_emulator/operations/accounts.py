"""Connected accounts as Stripe derives them, their onboarding links, and their verification.

What Stripe knows about an account (`AccountState`: onboarding done, documents under review,
requirements asked for with a deadline, future requirements, rejection) and the account's own
fields are the input of one function, `derive`, which sets `charges_enabled`, `payouts_enabled`,
`details_submitted`, the capabilities' statuses, `requirements` and `future_requirements`.
Every change, through the API or a control, goes through it (`_change`), and sends
`capability.updated` for each capability whose status changed and `account.updated` with
`previous_attributes` holding only the changed fields.

Stripe's meaning of the requirement lists (API reference, the Account object): `currently_due`
must be collected by `current_deadline` to keep the account enabled; fields not collected by
then are `past_due` as well and disable it (`disabled_reason: requirements.past_due`); fields
needed to enable a new account are due at once, so they are `past_due` from the start;
`pending_verification` holds what is under review (`requirements.pending_verification`).
A capability is `active`, `pending` while under review, or `inactive` when past due or rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id, random_token
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
from stripe_emulator.operations import bank_accounts
from stripe_emulator.records import AccountLink, AccountState

ONBOARDING_REQUIREMENTS = (
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)
VERIFICATION_DOCUMENT = "individual.verification.document"
REJECTION_REASONS = ("fraud", "terms_of_service", "listed", "other")
ACCOUNT_LINK_LIFETIME_SECONDS = 300
"""Stripe's account links expire a few minutes after creation (`expires_at`)."""

# Parameters merged as they are into the account object.
_PROFILE_PARAMS = ("business_profile", "settings", "tos_acceptance", "individual", "company")
_PLAIN_PARAMS = ("email", "business_type", "default_currency")
# What the onboarding form fills in, as a seller completing Stripe's hosted onboarding would.
_ONBOARDING_PROFILE = {"mcc": "5734", "url": "https://seller.example"}
_ONBOARDING_INDIVIDUAL = ("individual.first_name", "individual.last_name")


def connected_account(emu: Emulator, account_id: str) -> JsonObject:
    return emu.store.require("account", account_id)


def platform_account(emu: Emulator) -> JsonObject:
    return from_fixture(
        "account",
        id=emu.platform_account_id,
        created=emu.clock.now(),
        type="standard",
        capabilities={"card_payments": "active", "transfers": "active"},
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        email=None,
        external_accounts=list_object(
            f"/v1/accounts/{emu.platform_account_id}/external_accounts",
            [platform_bank_account(emu)],
        ),
        requirements=_requirement_lists(),
        future_requirements=_requirement_lists(),
    )


def platform_bank_account(emu: Emulator) -> JsonObject:
    """The platform's own bank account, where its payouts go."""
    existing = bank_accounts.default_bank_account(emu, None, "usd")
    if existing is not None:
        return existing
    platform = {"id": emu.platform_account_id}
    return bank_accounts.add_bank_account(
        emu, platform, None, {"account_number": bank_accounts.PAYING_ACCOUNT_NUMBER}
    )


def create_account(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    if "type" in params and "controller" in params:
        raise errors.invalid_request(
            "You cannot specify both `type` and `controller`: `type` is deprecated, describe the "
            "account with `controller` alone.",
            param="controller",
        )
    account_id = new_id("acct")
    account = from_fixture(
        "account",
        id=account_id,
        created=emu.clock.now(),
        type=_account_type(params),
        controller=_controller(params),
        country=params.get("country", "US"),
        email=None,
        business_type=None,
        capabilities={},
        metadata={},
        external_accounts=list_object(f"/v1/accounts/{account_id}/external_accounts", []),
    )
    state = emu.account_states[account_id] = AccountState()
    emu.store.add(account)
    _apply(emu, account, state, params)
    derive(emu, account)
    return account


def update_account(emu: Emulator, account_id: str, params: dict[str, Any]) -> JsonObject:
    return _change(emu, account_id, lambda account, state: _apply(emu, account, state, params))


def verify(emu: Emulator, account_id: str, account_number: str | None = None) -> JsonObject:
    """Onboarding completed with every requirement met (the account link's form does this)."""

    def complete(account: JsonObject, state: AccountState) -> None:
        for name, value in _ONBOARDING_PROFILE.items():
            account["business_profile"][name] = account["business_profile"].get(name) or value
        state.individual.update(_ONBOARDING_INDIVIDUAL)
        tos = account["tos_acceptance"]
        tos["date"] = tos["date"] or emu.clock.now()
        tos["ip"] = tos["ip"] or "127.0.0.1"
        if account_number is not None or not bank_accounts.bank_accounts(emu, account_id):
            details = {"account_number": account_number or bank_accounts.PAYING_ACCOUNT_NUMBER}
            bank_accounts.add_bank_account(emu, account, account_id, details)
        state.onboarded = True
        state.in_review.clear()
        state.requested.clear()

    return _change(emu, account_id, complete)


def require(emu: Emulator, account_id: str, fields: list[str], due_in_seconds: int) -> JsonObject:
    """Stripe asks for more information, to be provided within `due_in_seconds` (0: restricted now)."""

    def ask(account: JsonObject, state: AccountState) -> None:
        deadline = emu.clock.time() + due_in_seconds
        for name in fields:
            state.requested[name] = deadline
            state.in_review.discard(name)

    return _change(emu, account_id, ask)


def restrict(emu: Emulator, account_id: str) -> JsonObject:
    """An identity document is past due: the account is restricted."""
    return require(emu, account_id, [VERIFICATION_DOCUMENT], 0)


def review(emu: Emulator, account_id: str) -> JsonObject:
    """The requested documents were submitted and are under review (`pending_verification`)."""

    def submit(account: JsonObject, state: AccountState) -> None:
        state.in_review.update(state.requested or [VERIFICATION_DOCUMENT])
        state.requested.clear()

    return _change(emu, account_id, submit)


def reject(emu: Emulator, account_id: str, reason: str = "other") -> JsonObject:
    if reason not in REJECTION_REASONS:
        raise errors.invalid_request(
            f"Unknown reason '{reason}'; expected one of {', '.join(REJECTION_REASONS)}.", param="reason"
        )

    def mark_rejected(account: JsonObject, state: AccountState) -> None:
        state.rejected = reason

    return _change(emu, account_id, mark_rejected)


def add_future_requirements(
    emu: Emulator, account_id: str, fields: list[str], due_in_seconds: int
) -> JsonObject:
    """Requirements that take effect later: in `future_requirements` until their date, then due."""

    def announce(account: JsonObject, state: AccountState) -> None:
        for name in fields:
            state.future[name] = emu.clock.time() + due_in_seconds

    return _change(emu, account_id, announce)


def rederive_all(emu: Emulator) -> None:
    """Derive every account again (after the clock moved past deadlines)."""
    for account in emu.store.all_newest_first("account"):
        _change(emu, account["id"], lambda account, state: None)


def capabilities(emu: Emulator, account_id: str) -> list[JsonObject]:
    account = connected_account(emu, account_id)
    return [_capability(emu, account, name) for name in sorted(account["capabilities"])]


def capability(emu: Emulator, account_id: str, name: str) -> JsonObject:
    account = connected_account(emu, account_id)
    if name not in account["capabilities"]:
        raise errors.no_such("capability", name)
    return _capability(emu, account, name)


def derive(emu: Emulator, account: JsonObject) -> None:
    """Set every field Stripe derives from what it knows about the account."""
    state = emu.account_states[account["id"]]
    now = emu.clock.time()
    has_bank_account = bool(bank_accounts.bank_accounts(emu, account["id"]))
    missing = [
        name for name in ONBOARDING_REQUIREMENTS if not _collected(account, state, name, has_bank_account)
    ]
    in_effect = {name for name, date in state.future.items() if date <= now}
    requested = set(state.requested) | in_effect
    overdue = {name for name, deadline in state.requested.items() if deadline <= now} | in_effect
    deadlines = [deadline for deadline in state.requested.values() if deadline > now]
    upcoming = {name: date for name, date in state.future.items() if date > now}
    if state.rejected is not None:
        requirements = _requirement_lists(disabled_reason=f"rejected.{state.rejected}")
    else:
        currently_due = sorted({*missing, *requested})
        past_due = sorted({*missing, *overdue})
        pending = sorted(state.in_review)
        requirements = _requirement_lists(
            currently_due=currently_due,
            past_due=past_due,
            pending_verification=pending,
            current_deadline=int(min(deadlines)) if deadlines else None,
            disabled_reason=_disabled_reason(past_due, pending),
        )
    disabled_reason = requirements["disabled_reason"]
    status = _capability_status(disabled_reason)
    account.update(
        capabilities=dict.fromkeys(account["capabilities"], status),
        charges_enabled=disabled_reason is None,
        payouts_enabled=disabled_reason is None and has_bank_account,
        details_submitted=state.onboarded,
        requirements=requirements,
        future_requirements=_requirement_lists(
            currently_due=sorted(upcoming),
            current_deadline=int(min(upcoming.values())) if upcoming else None,
        ),
    )


def create_account_link(emu: Emulator, params: dict[str, Any], base_url: str) -> JsonObject:
    account = emu.store.require_param("account", params["account"], "account")
    created = emu.clock.now()
    token = random_token(24)
    emu.account_links[token] = AccountLink(
        account=account["id"],
        refresh_url=params.get("refresh_url"),
        return_url=params.get("return_url"),
        expires_at=created + ACCOUNT_LINK_LIFETIME_SECONDS,
    )
    return from_fixture(
        "account_link",
        created=created,
        expires_at=created + ACCOUNT_LINK_LIFETIME_SECONDS,
        url=f"{base_url}/_emulator/onboarding/{token}",
    )


def account_link(emu: Emulator, token: str) -> AccountLink:
    link = emu.account_links.get(token)
    if link is None:
        raise errors.no_such("account_link", token)
    return link


def link_usable(emu: Emulator, link: AccountLink) -> bool:
    """Stripe sends the user to `refresh_url` when the link "is expired, has been previously
    visited, or is otherwise invalid" (API reference, Account Links); a link serves one visit."""
    return not (link.expired or link.used or emu.clock.now() >= link.expires_at)


def _change(emu: Emulator, account_id: str, mutate: Callable[[JsonObject, AccountState], None]) -> JsonObject:
    account = connected_account(emu, account_id)
    before = snapshot(account)
    mutate(account, emu.account_states[account_id])
    derive(emu, account)
    for name, status in account["capabilities"].items():
        if before["capabilities"].get(name) != status:
            emit(emu, "capability.updated", _capability(emu, account, name), account=account_id)
    changes = changed_fields(before, account)
    if changes:
        emit(emu, "account.updated", account, account=account_id, previous=changes)
    return account


def _apply(emu: Emulator, account: JsonObject, state: AccountState, params: dict[str, Any]) -> None:
    for name in _PLAIN_PARAMS:
        if name in params:
            account[name] = params[name]
    for name in _PROFILE_PARAMS:
        if isinstance(params.get(name), dict):
            account.setdefault(name, {})
            deep_merge(account[name], params[name])
    if isinstance(params.get("individual"), dict):
        state.individual.update(f"individual.{name}" for name in params["individual"])
    account["metadata"] = merged_metadata(account["metadata"], params.get("metadata"))
    _request_capabilities(emu, account, state, params.get("capabilities", {}))
    if "external_account" in params:
        bank_accounts.add_bank_account(emu, account, account["id"], _bank_details(params["external_account"]))


def _bank_details(external_account: Any) -> dict[str, Any]:
    if isinstance(external_account, dict) and external_account.get("object") == "bank_account":
        details: dict[str, Any] = external_account
        return details
    raise errors.unsupported(
        "external_account", "external accounts other than a bank account's details (no tokens, no cards)"
    )


def _request_capabilities(
    emu: Emulator, account: JsonObject, state: AccountState, requested: dict[str, Any]
) -> None:
    for name, request in requested.items():
        if request.get("requested") is True:
            account["capabilities"].setdefault(name, "inactive")
            state.capabilities_requested_at.setdefault(name, emu.clock.now())
        elif request.get("requested") is False:
            account["capabilities"].pop(name, None)
            state.capabilities_requested_at.pop(name, None)


def _collected(account: JsonObject, state: AccountState, name: str, has_bank_account: bool) -> bool:
    if name == "external_account":
        return has_bank_account
    if name.startswith("individual."):
        return name in state.individual
    section, field = name.split(".")
    return bool((account.get(section) or {}).get(field))


def _disabled_reason(past_due: list[str], pending: list[str]) -> str | None:
    if past_due:
        return "requirements.past_due"
    if pending:
        return "requirements.pending_verification"
    return None


def _capability_status(disabled_reason: str | None) -> str:
    if disabled_reason is None:
        return "active"
    if disabled_reason == "requirements.pending_verification":
        return "pending"
    return "inactive"


def _capability(emu: Emulator, account: JsonObject, name: str) -> JsonObject:
    """Stripe's Capability object: the account's requirements, with the capability's reasons."""
    state = emu.account_states[account["id"]]
    requirements = snapshot(account["requirements"])
    requirements["disabled_reason"] = {
        None: None,
        "requirements.past_due": "requirements.fields_needed",
        "requirements.pending_verification": "pending.review",
    }.get(requirements["disabled_reason"], "rejected.other")
    return from_fixture(
        "capability",
        id=name,
        account=account["id"],
        requested=True,
        requested_at=state.capabilities_requested_at.get(name, account["created"]),
        requirements=requirements,
        future_requirements=snapshot(account["future_requirements"]),
        status=account["capabilities"][name],
    )


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


def _requirement_lists(
    *,
    currently_due: list[str] | None = None,
    past_due: list[str] | None = None,
    pending_verification: list[str] | None = None,
    current_deadline: int | None = None,
    disabled_reason: str | None = None,
) -> JsonObject:
    requirements: JsonObject = fixture("account")["requirements"]
    requirements.update(
        alternatives=[],
        currently_due=list(currently_due or []),
        eventually_due=list(currently_due or []),
        past_due=list(past_due or []),
        pending_verification=list(pending_verification or []),
        errors=[],
        current_deadline=current_deadline,
        disabled_reason=disabled_reason,
    )
    return requirements
