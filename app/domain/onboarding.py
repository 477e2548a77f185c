"""Seller onboarding's rules: a connected account as Stripe describes it, turned into our seller
status, how far the seller is (a share a frontend draws as a bar), what they should do next, and
whether money may be transferred to them. Pure: no I/O, no clock.

Stripe's fields, and what this module reads in them (API reference, the Account object):

- `capabilities.transfers`: `active`, `pending` (Stripe is verifying), `inactive`. Only an
  active `transfers` capability lets the platform transfer to the account, so it alone decides
  whether the seller can receive transfers.
- `requirements.disabled_reason`: why the account is disabled, one of `DISABLED_REASONS`.
- `requirements.currently_due` (due by `current_deadline`), `past_due` (not collected by the
  deadline: the account is disabled), `eventually_due` (needed once thresholds are reached;
  onboarding collects them too, `collection_options[fields]=eventually_due`) and
  `pending_verification` (submitted, being verified).
- `future_requirements`: what Stripe will ask for later; it never disables the account now.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

TRANSFERS = "transfers"
DEAUTHORIZED = "deauthorized"

# Stripe's `requirements.disabled_reason` for the pinned API version (the `stripe` SDK's
# `Account.Requirements.disabled_reason`); a test holds this tuple to the SDK's list.
DISABLED_REASONS = (
    "action_required.requested_capabilities",
    "listed",
    "other",
    "platform_paused",
    "rejected.fraud",
    "rejected.incomplete_verification",
    "rejected.listed",
    "rejected.other",
    "rejected.platform_fraud",
    "rejected.platform_other",
    "rejected.platform_terms_of_service",
    "rejected.terms_of_service",
    "requirements.past_due",
    "requirements.pending_verification",
    "under_review",
)
PAST_DUE = "requirements.past_due"
PENDING_VERIFICATION = "requirements.pending_verification"
# Stripe is investigating (the account is under review, or might be on a list of prohibited
# persons): it will reinstate or reject the account, the seller has nothing to send.
STRIPE_INVESTIGATING = frozenset({PENDING_VERIFICATION, "under_review", "listed"})

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What a requirement asks for, in the words of the next step; other requirements are named as
# Stripe names them.
_REQUIREMENT_WORDS = {
    "individual.verification.document": "an identity document",
    "individual.verification.additional_document": "a proof of address",
    "company.verification.document": "a company registration document",
    "external_account": "a bank account",
    "tos_acceptance.date": "acceptance of Stripe's terms",
    "tos_acceptance.ip": "acceptance of Stripe's terms",
}
_NAMED_AT_MOST = 3


class SellerStatus(StrEnum):
    """A seller's standing for receiving money (DESIGN.md §5, seller account)."""

    NOT_STARTED = "not_started"  # no connected account yet
    ONBOARDING = "onboarding"  # Stripe's hosted onboarding not finished
    PENDING_VERIFICATION = "pending_verification"  # Stripe is verifying what was sent
    RESTRICTED = "restricted"  # disabled until the seller (or support) acts
    ACTIVE = "active"  # transfers can be received
    REJECTED = "rejected"  # Stripe rejected the account, or the platform lost access to it


@dataclass(frozen=True, slots=True)
class Requirements:
    currently_due: tuple[str, ...] = ()
    eventually_due: tuple[str, ...] = ()
    past_due: tuple[str, ...] = ()
    pending_verification: tuple[str, ...] = ()
    current_deadline: datetime | None = None

    @property
    def due(self) -> frozenset[str]:
        """What Stripe still waits for from the seller."""
        return frozenset((*self.currently_due, *self.eventually_due, *self.past_due))

    @property
    def names(self) -> frozenset[str]:
        """Every requirement these lists name."""
        return self.due | frozenset(self.pending_verification)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """A connected account as Stripe last described it: what a seller's standing is derived from."""

    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    capabilities: Mapping[str, str] = field(default_factory=dict)
    disabled_reason: str | None = None
    requirements: Requirements = Requirements()
    future_requirements: Requirements = Requirements()

    @property
    def transfers_active(self) -> bool:
        return self.capabilities.get(TRANSFERS) == "active"


@dataclass(frozen=True, slots=True)
class Verification:
    """A seller's standing, derived from their account by `assess`."""

    status: SellerStatus
    # Why: Stripe's `disabled_reason`, or `deauthorized` when the platform lost the account.
    status_reason: str | None
    can_receive_transfers: bool
    progress: int  # 0-100, the share of the account's requirements satisfied
    next_step: str


NOT_STARTED = Verification(
    status=SellerStatus.NOT_STARTED,
    status_reason=None,
    can_receive_transfers=False,
    progress=0,
    next_step="Set up payments: start onboarding with Stripe.",
)


def assess(
    account: AccountSnapshot, *, deauthorized: bool = False, requirements_seen: Iterable[str] = ()
) -> Verification:
    """The seller's standing from their account as Stripe describes it.

    `requirements_seen` are the requirements Stripe ever listed for the account (it lists only
    what is still outstanding, so what was satisfied is known only by remembering it).
    `deauthorized`: the platform lost access to the account (`account.application.deauthorized`).
    """
    status = seller_status(account, deauthorized=deauthorized)
    return Verification(
        status=status,
        status_reason=DEAUTHORIZED if deauthorized else account.disabled_reason,
        can_receive_transfers=account.transfers_active and not deauthorized,
        progress=progress(account, requirements_seen),
        next_step=next_step(status, account, deauthorized=deauthorized),
    )


def seller_status(account: AccountSnapshot, *, deauthorized: bool = False) -> SellerStatus:
    reason = account.disabled_reason
    if deauthorized or (reason is not None and reason.startswith("rejected.")):
        return SellerStatus.REJECTED
    if reason is None and account.transfers_active:
        return SellerStatus.ACTIVE
    transfers_pending = account.capabilities.get(TRANSFERS) == "pending"
    if reason in STRIPE_INVESTIGATING or (reason is None and transfers_pending):
        return SellerStatus.PENDING_VERIFICATION
    if not account.details_submitted and reason in (None, PAST_DUE):
        return SellerStatus.ONBOARDING
    # Past due after onboarding, paused by the platform, capabilities not requested, `other`,
    # or a reason newer than this code: the seller (or support) must act.
    return SellerStatus.RESTRICTED


def progress(account: AccountSnapshot, requirements_seen: Iterable[str] = ()) -> int:
    """The share (0-100) of the account's requirements satisfied: of every requirement Stripe
    listed for it, those no longer due count whole, those being verified count half.
    `future_requirements` are not counted: they are not due yet."""
    requirements = account.requirements
    due = requirements.due
    verifying = frozenset(requirements.pending_verification) - due
    known = frozenset(requirements_seen) | due | verifying
    if not known:
        return 100 if account.details_submitted else 0
    satisfied = len(known - due - verifying)
    return (2 * satisfied + len(verifying)) * 100 // (2 * len(known))


def next_step(status: SellerStatus, account: AccountSnapshot, *, deauthorized: bool = False) -> str:
    """What the seller should do now, as a sentence for the seller's dashboard."""
    requirements, reason = account.requirements, account.disabled_reason
    if status is SellerStatus.NOT_STARTED:
        return NOT_STARTED.next_step
    if status is SellerStatus.REJECTED:
        if deauthorized:
            return "Contact support: the marketplace no longer has access to your Stripe account."
        return f"Contact support: Stripe rejected your account ({reason})."
    if status is SellerStatus.ONBOARDING:
        left = len(requirements.due)
        if not left:
            return "Finish onboarding with Stripe."
        return f"Finish onboarding with Stripe: {left} item{'' if left == 1 else 's'} left."
    if status is SellerStatus.PENDING_VERIFICATION:
        if reason == "listed":
            return "Wait: Stripe is checking your account against lists of restricted persons."
        return "Wait while Stripe verifies the details you sent; there is nothing to do now."
    if status is SellerStatus.RESTRICTED:
        return _restricted_step(account)
    return _active_step(account)


def _restricted_step(account: AccountSnapshot) -> str:
    requirements = account.requirements
    if requirements.past_due:
        return f"Provide {describe(requirements.past_due)} to Stripe now: payments to you are paused."
    if account.disabled_reason is None and requirements.currently_due:
        due = describe(requirements.currently_due)
        return f"Provide {due} to Stripe{_by(requirements.current_deadline)}."
    return f"Contact support: payments to you are paused ({account.disabled_reason or 'transfers inactive'})."


def _active_step(account: AccountSnapshot) -> str:
    requirements, future = account.requirements, account.future_requirements
    if requirements.currently_due:
        return (
            f"Provide {describe(requirements.currently_due)} to Stripe{_by(requirements.current_deadline)} "
            "to keep receiving payments."
        )
    if future.currently_due:
        return f"Stripe will need {describe(future.currently_due)}{_by(future.current_deadline)}."
    if requirements.eventually_due:
        return f"Provide {describe(requirements.eventually_due)} to Stripe when you can."
    return "Nothing to do: you can receive payments."


def describe(requirements: Sequence[str]) -> str:
    """Requirements in words: `an identity document and a bank account`, at most three named."""
    words = list(dict.fromkeys(_REQUIREMENT_WORDS.get(name, name) for name in requirements))
    named, more = words[:_NAMED_AT_MOST], len(words) - _NAMED_AT_MOST
    if more > 0:
        return f"{', '.join(named)} and {more} more"
    return f"{', '.join(named[:-1])} and {named[-1]}" if len(named) > 1 else "".join(named)


def _by(deadline: datetime | None) -> str:
    return f" by {deadline.astimezone(UTC):%Y-%m-%d}" if deadline is not None else ""


# The seller's profile, from which the account is created


@dataclass(frozen=True, slots=True)
class SellerProfile:
    """What the marketplace knows of a seller that Stripe needs to open their account."""

    seller_id: str
    email: str | None
    country: str | None


def missing_profile_fields(profile: SellerProfile) -> list[str]:
    """The profile fields an account cannot be created without (`email`, `country`)."""
    missing = []
    if not profile.email or not _EMAIL.match(profile.email):
        missing.append("email")
    if not profile.country:
        missing.append("country")
    return missing


def country_code(country: str) -> str:
    """A country as Stripe names it: ISO 3166-1 alpha-2, upper case (`us` → `US`)."""
    return country.strip().upper()


def is_country_code(country: str) -> bool:
    return bool(_COUNTRY.match(country))


def seller_list_key(created: datetime, account_id: str) -> str:
    """Account creation time then id as one string: the seller list's order and its cursor."""
    return f"{created.astimezone(UTC):%Y-%m-%dT%H:%M:%S}|{account_id}"
