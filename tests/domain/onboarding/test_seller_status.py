"""The seller's standing from their account: a table over every `disabled_reason` Stripe can send
(the pinned SDK's list) and every combination of the requirement lists, then properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import get_args, get_type_hints

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from app.domain.onboarding import (
    DISABLED_REASONS,
    NOT_STARTED,
    AccountSnapshot,
    Requirements,
    SellerProfile,
    SellerStatus,
    assess,
    country_code,
    describe,
    is_country_code,
    missing_profile_fields,
    progress,
    seller_status,
)

ACTIVE = SellerStatus.ACTIVE
ONBOARDING = SellerStatus.ONBOARDING
PENDING = SellerStatus.PENDING_VERIFICATION
RESTRICTED = SellerStatus.RESTRICTED
REJECTED = SellerStatus.REJECTED

DEADLINE = datetime(2031, 5, 17, 12, 0, tzinfo=UTC)
DOCUMENT = "individual.verification.document"
BANK = "external_account"

NOTHING_DUE = Requirements()
# Every combination of what Stripe may be waiting for; none of them changes the status, which
# the disabled reason and the `transfers` capability decide.
REQUIREMENT_CASES = {
    "nothing due": NOTHING_DUE,
    "due by a deadline": Requirements(
        currently_due=(DOCUMENT,), eventually_due=(DOCUMENT,), current_deadline=DEADLINE
    ),
    "past due": Requirements(
        currently_due=(DOCUMENT, BANK), eventually_due=(DOCUMENT, BANK), past_due=(DOCUMENT, BANK)
    ),
    "being verified": Requirements(pending_verification=(DOCUMENT,)),
    "due later": Requirements(eventually_due=("company.tax_id",)),
    "past due and being verified": Requirements(
        currently_due=(BANK,), eventually_due=(BANK,), past_due=(BANK,), pending_verification=(DOCUMENT,)
    ),
}
TRANSFERS_CASES = {"active": "active", "pending": "pending", "inactive": "inactive", "not requested": None}

# disabled_reason -> (status before onboarding is submitted, status after), whatever the rest.
BY_REASON: dict[str, tuple[SellerStatus, SellerStatus]] = {
    "action_required.requested_capabilities": (RESTRICTED, RESTRICTED),
    "listed": (PENDING, PENDING),
    "other": (RESTRICTED, RESTRICTED),
    "platform_paused": (RESTRICTED, RESTRICTED),
    "rejected.fraud": (REJECTED, REJECTED),
    "rejected.incomplete_verification": (REJECTED, REJECTED),
    "rejected.listed": (REJECTED, REJECTED),
    "rejected.other": (REJECTED, REJECTED),
    "rejected.platform_fraud": (REJECTED, REJECTED),
    "rejected.platform_other": (REJECTED, REJECTED),
    "rejected.platform_terms_of_service": (REJECTED, REJECTED),
    "rejected.terms_of_service": (REJECTED, REJECTED),
    "requirements.past_due": (ONBOARDING, RESTRICTED),
    "requirements.pending_verification": (PENDING, PENDING),
    "under_review": (PENDING, PENDING),
}
# Not disabled: (transfers capability, details submitted) -> status.
NOT_DISABLED: dict[tuple[str | None, bool], SellerStatus] = {
    ("active", False): ACTIVE,
    ("active", True): ACTIVE,
    ("pending", False): PENDING,
    ("pending", True): PENDING,
    ("inactive", False): ONBOARDING,
    ("inactive", True): RESTRICTED,
    (None, False): ONBOARDING,
    (None, True): RESTRICTED,
}


def account(
    reason: str | None,
    transfers: str | None,
    submitted: bool,
    requirements: Requirements = NOTHING_DUE,
    future: Requirements = NOTHING_DUE,
) -> AccountSnapshot:
    return AccountSnapshot(
        details_submitted=submitted,
        capabilities={} if transfers is None else {"transfers": transfers},
        disabled_reason=reason,
        requirements=requirements,
        future_requirements=future,
    )


def test_every_disabled_reason_of_the_pinned_api_version_is_in_the_table() -> None:
    stripe_reasons = get_args(get_args(get_type_hints(stripe.Account.Requirements)["disabled_reason"])[0])
    assert set(DISABLED_REASONS) == set(stripe_reasons) == set(BY_REASON)


@pytest.mark.parametrize(
    ("reason", "transfers", "submitted", "requirements"),
    list(itertools.product(DISABLED_REASONS, TRANSFERS_CASES, (False, True), REQUIREMENT_CASES)),
)
def test_a_disabled_account_has_the_status_of_its_reason(
    reason: str, transfers: str, submitted: bool, requirements: str
) -> None:
    snapshot = account(reason, TRANSFERS_CASES[transfers], submitted, REQUIREMENT_CASES[requirements])
    verification = assess(snapshot)

    assert verification.status is BY_REASON[reason][submitted]
    assert verification.status_reason == reason
    assert verification.can_receive_transfers is (transfers == "active")
    assert 0 <= verification.progress <= 100
    assert verification.next_step


@pytest.mark.parametrize(
    ("transfers", "submitted", "requirements"),
    list(itertools.product(TRANSFERS_CASES, (False, True), REQUIREMENT_CASES)),
)
def test_an_account_not_disabled_has_the_status_of_its_transfers_capability(
    transfers: str, submitted: bool, requirements: str
) -> None:
    snapshot = account(None, TRANSFERS_CASES[transfers], submitted, REQUIREMENT_CASES[requirements])

    assert assess(snapshot).status is NOT_DISABLED[(TRANSFERS_CASES[transfers], submitted)]


@pytest.mark.parametrize("reason", [*DISABLED_REASONS, None])
def test_a_deauthorized_account_is_rejected_and_receives_nothing(reason: str | None) -> None:
    verification = assess(account(reason, "active", True), deauthorized=True)

    assert (verification.status, verification.status_reason) == (REJECTED, "deauthorized")
    assert verification.can_receive_transfers is False
    assert "no longer has access" in verification.next_step


def test_a_reason_newer_than_the_code_restricts_or_rejects_by_its_kind() -> None:
    assert seller_status(account("rejected.unsupported_business", "inactive", True)) is REJECTED
    assert seller_status(account("paused.inactivity", "active", True)) is RESTRICTED


@pytest.mark.parametrize(
    ("snapshot", "step"),
    [
        (
            account("requirements.past_due", "inactive", False, REQUIREMENT_CASES["past due"]),
            "Finish onboarding with Stripe: 2 items left.",
        ),
        (account(None, "inactive", False), "Finish onboarding with Stripe."),
        (
            account(
                "requirements.pending_verification", "pending", True, REQUIREMENT_CASES["being verified"]
            ),
            "Wait while Stripe verifies the details you sent; there is nothing to do now.",
        ),
        (
            account("listed", "inactive", True),
            "Wait: Stripe is checking your account against lists of restricted persons.",
        ),
        (
            account("requirements.past_due", "inactive", True, REQUIREMENT_CASES["past due"]),
            "Provide an identity document and a bank account to Stripe now: payments to you are paused.",
        ),
        (
            account(None, "inactive", True, REQUIREMENT_CASES["due by a deadline"]),
            "Provide an identity document to Stripe by 2031-05-17.",
        ),
        (
            account("platform_paused", "inactive", True),
            "Contact support: payments to you are paused (platform_paused).",
        ),
        (
            account(None, "active", True, REQUIREMENT_CASES["due by a deadline"]),
            "Provide an identity document to Stripe by 2031-05-17 to keep receiving payments.",
        ),
        (
            account(
                None,
                "active",
                True,
                future=Requirements(currently_due=(DOCUMENT,), current_deadline=DEADLINE),
            ),
            "Stripe will need an identity document by 2031-05-17.",
        ),
        (
            account(None, "active", True, REQUIREMENT_CASES["due later"]),
            "Provide company.tax_id to Stripe when you can.",
        ),
        (account(None, "active", True), "Nothing to do: you can receive payments."),
        (
            account("rejected.fraud", "inactive", True),
            "Contact support: Stripe rejected your account (rejected.fraud).",
        ),
    ],
)
def test_the_next_step_says_what_to_do_and_by_when(snapshot: AccountSnapshot, step: str) -> None:
    assert assess(snapshot).next_step == step


def test_a_seller_without_an_account_has_not_started() -> None:
    assert (NOT_STARTED.status, NOT_STARTED.progress, NOT_STARTED.can_receive_transfers) == (
        SellerStatus.NOT_STARTED,
        0,
        False,
    )


@pytest.mark.parametrize(
    ("requirements", "seen", "expected"),
    [
        (Requirements(currently_due=("a", "b", "c", "d")), (), 0),
        (Requirements(currently_due=("c", "d")), ("a", "b", "c", "d"), 50),
        (Requirements(currently_due=("d",), pending_verification=("c",)), ("a", "b", "c", "d"), 62),
        (Requirements(pending_verification=("d",)), ("a", "b", "c", "d"), 87),
        (Requirements(), ("a", "b", "c", "d"), 100),
        # Due and being verified at once (one check failed, another pending): still due.
        (Requirements(currently_due=("d",), pending_verification=("d",)), ("a", "b", "c", "d"), 75),
    ],
)
def test_progress_is_the_share_of_requirements_satisfied_those_being_verified_half(
    requirements: Requirements, seen: tuple[str, ...], expected: int
) -> None:
    assert progress(AccountSnapshot(requirements=requirements), seen) == expected


def test_progress_without_any_requirement_known_follows_the_submission() -> None:
    assert progress(AccountSnapshot(details_submitted=False)) == 0
    assert progress(AccountSnapshot(details_submitted=True)) == 100


names = st.sampled_from([DOCUMENT, BANK, "individual.dob.day", "company.tax_id", "tos_acceptance.date"])
name_lists = st.lists(names, unique=True, max_size=5).map(tuple)
snapshots = st.builds(
    AccountSnapshot,
    details_submitted=st.booleans(),
    capabilities=st.dictionaries(
        st.sampled_from(["transfers", "card_payments"]), st.sampled_from(["active", "pending", "inactive"])
    ),
    disabled_reason=st.none() | st.sampled_from(DISABLED_REASONS),
    requirements=st.builds(
        Requirements,
        currently_due=name_lists,
        eventually_due=name_lists,
        past_due=name_lists,
        pending_verification=name_lists,
    ),
)


@given(snapshots, st.frozensets(names), st.booleans())
def test_properties_of_every_standing(
    snapshot: AccountSnapshot, seen: frozenset[str], deauthorized: bool
) -> None:
    verification = assess(snapshot, deauthorized=deauthorized, requirements_seen=seen)

    assert 0 <= verification.progress <= 100
    assert verification.can_receive_transfers is (snapshot.transfers_active and not deauthorized)
    assert verification.status is not SellerStatus.NOT_STARTED
    if verification.status is SellerStatus.ACTIVE:
        assert verification.can_receive_transfers
        assert snapshot.disabled_reason is None
    nothing_outstanding = not snapshot.requirements.names
    if seen or not nothing_outstanding:
        assert (verification.progress == 100) is nothing_outstanding
    # What was seen before changes the progress only, never the status.
    assert assess(snapshot, deauthorized=deauthorized).status is verification.status


@given(snapshots, st.frozensets(names), names)
def test_satisfying_a_requirement_never_lowers_progress(
    snapshot: AccountSnapshot, seen: frozenset[str], satisfied: str
) -> None:
    requirements = snapshot.requirements
    after = Requirements(
        currently_due=tuple(n for n in requirements.currently_due if n != satisfied),
        eventually_due=tuple(n for n in requirements.eventually_due if n != satisfied),
        past_due=tuple(n for n in requirements.past_due if n != satisfied),
        pending_verification=tuple(n for n in requirements.pending_verification if n != satisfied),
    )
    known = seen | requirements.names
    before_progress = progress(snapshot, known)
    after_progress = progress(
        AccountSnapshot(details_submitted=snapshot.details_submitted, requirements=after), known
    )
    assert after_progress >= before_progress


def test_requirements_are_named_in_words_at_most_three() -> None:
    assert describe([DOCUMENT]) == "an identity document"
    assert describe([DOCUMENT, BANK]) == "an identity document and a bank account"
    assert describe(["a", "b", "c"]) == "a, b and c"
    assert describe(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"
    assert describe(["tos_acceptance.date", "tos_acceptance.ip"]) == "acceptance of Stripe's terms"


@pytest.mark.parametrize(
    ("email", "country", "missing"),
    [
        ("s@example.com", "US", []),
        (None, "US", ["email"]),
        ("not an email", "US", ["email"]),
        ("s@example.com", None, ["country"]),
        (None, None, ["email", "country"]),
    ],
)
def test_a_profile_needs_an_email_and_a_country(
    email: str | None, country: str | None, missing: list[str]
) -> None:
    assert missing_profile_fields(SellerProfile("s1", email, country)) == missing


def test_countries_are_iso_codes_in_capitals() -> None:
    assert country_code(" us ") == "US"
    assert is_country_code("GB")
    assert not is_country_code("USA")
    assert not is_country_code("U1")
