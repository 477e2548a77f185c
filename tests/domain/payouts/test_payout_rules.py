"""The rules of payouts: the amount a request gets or why it is refused, and the ledger following
whatever Stripe says of a payout, read as many times as events arrive."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.ledger import Accounts
from app.domain.payouts import (
    LedgerState,
    PayoutBelowMinimum,
    PayoutInsufficientFunds,
    PayoutStatus,
    failure_reason,
    ledger_entries,
    payable,
    payout_amount,
    payout_id,
)

amounts = st.integers(min_value=0, max_value=10**9)
# What Stripe shows of one payout over its life, in order: it may fail from any step before the
# bank confirms, and even after it was paid; each state may be read any number of times.
LIVES = [
    [PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID],
    [PayoutStatus.PENDING, PayoutStatus.FAILED],
    [PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.FAILED],
    [PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID, PayoutStatus.FAILED],
    [PayoutStatus.PENDING, PayoutStatus.CANCELED],
]


@given(asked=st.none() | amounts, can_pay=amounts, minimum=st.integers(min_value=1, max_value=10**6))
def test_a_payout_is_what_was_asked_or_everything_payable_within_bounds_or_refused(
    asked: int | None, can_pay: int, minimum: int
) -> None:
    wanted = can_pay if asked is None else asked
    if asked is not None and asked < minimum:
        with pytest.raises(PayoutBelowMinimum):
            payout_amount(asked, can_pay, minimum, "usd")
    elif wanted > can_pay or wanted == 0:
        with pytest.raises(PayoutInsufficientFunds) as refused:
            payout_amount(asked, can_pay, minimum, "usd")
        assert refused.value.extensions["payable"] == can_pay
    elif wanted < minimum:
        with pytest.raises(PayoutBelowMinimum):
            payout_amount(asked, can_pay, minimum, "usd")
    else:
        assert payout_amount(asked, can_pay, minimum, "usd") == wanted
        assert minimum <= wanted <= can_pay


@given(available=amounts, owed=amounts)
def test_what_is_owed_to_the_platform_is_never_paid_out(available: int, owed: int) -> None:
    assert payable(available, owed) == max(0, available - owed)


@given(
    life=st.sampled_from(LIVES),
    repeats=st.lists(st.integers(min_value=1, max_value=3), min_size=4, max_size=4),
    amount=st.integers(min_value=1, max_value=10**9),
)
def test_the_ledger_ends_as_stripe_says_with_each_entry_once(
    life: list[PayoutStatus], repeats: list[int], amount: int
) -> None:
    state = LedgerState()
    posted: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    for status, times in zip(life, repeats, strict=False):
        for _ in range(times):
            entries, state = ledger_entries("s1", "po_1", amount, "usd", status, state)
            for entry in entries:
                posted[entry.key] += 1
                for (account, _currency), delta in entry.balance_deltas().items():
                    moved[account] += delta
    assert set(posted.values()) <= {1}
    final = life[-1]
    left = amount if final is PayoutStatus.PAID else 0
    assert moved[Accounts.seller_connected("s1")] == -left
    assert moved[Accounts.BANK] == left


def test_the_payout_id_is_the_same_for_the_same_request_only() -> None:
    assert payout_id("seller_1", "key-1") == payout_id("seller_1", "key-1")
    assert (
        len({payout_id("seller_1", "key-1"), payout_id("seller_1", "key-2"), payout_id("seller_2", "key-1")})
        == 3
    )


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("no_account", None, "No bank account could be found with these details."),
        ("account_closed", "The bank account has been closed.", "The bank account has been closed."),
        ("something_new", None, "The payout failed; the money is back on the seller's Stripe balance."),
        (None, None, None),
    ],
)
def test_a_failure_is_told_in_a_sentence(code: str | None, message: str | None, reason: str | None) -> None:
    assert failure_reason(code, message) == reason
