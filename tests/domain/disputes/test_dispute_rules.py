"""Who bears a chargeback, and how a chargeback is spread over an order's escrows."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.disputes import (
    OPEN_STATUSES,
    RESOLVED_AS,
    DisputeStatus,
    Outcome,
    chargeback_status,
    fill_in_order,
    repeats_resolution,
    seller_share,
)
from app.domain.notifications import retry_delay


@given(
    capacities=st.lists(st.integers(min_value=0, max_value=100_000), max_size=6),
    data=st.data(),
)
def test_a_chargeback_fills_the_escrows_card_money_in_order(
    capacities: list[int], data: st.DataObject
) -> None:
    amount = data.draw(st.integers(min_value=0, max_value=sum(capacities)))
    shares = fill_in_order(amount, capacities)
    assert sum(shares) == amount
    assert all(0 <= share <= capacity for share, capacity in zip(shares, capacities, strict=True))
    for index, share in enumerate(shares):
        if share < capacities[index]:
            assert sum(shares[index + 1 :]) == 0


@given(withdrawn=st.integers(min_value=0, max_value=10**7), net=st.integers(min_value=0, max_value=10**7))
def test_a_paid_seller_bears_at_most_what_they_were_paid(withdrawn: int, net: int) -> None:
    assert seller_share(withdrawn, net) == min(withdrawn, net)


def test_stripe_statuses_open_and_closed() -> None:
    assert chargeback_status("needs_response") in OPEN_STATUSES
    assert {chargeback_status(status) for status in ("won", "lost", "warning_closed")}.isdisjoint(
        OPEN_STATUSES
    )
    assert DisputeStatus.RESOLVED_SPLIT not in OPEN_STATUSES


def test_failed_notifications_are_tried_again_after_a_doubling_capped_delay() -> None:
    base, cap = timedelta(seconds=10), timedelta(minutes=1)
    assert [retry_delay(attempt, base, cap).total_seconds() for attempt in range(1, 6)] == [
        10,
        20,
        40,
        60,
        60,
    ]


def test_only_the_outcome_a_dispute_was_resolved_with_repeats_its_resolution() -> None:
    for outcome in Outcome:
        repeating = [status for status in DisputeStatus if repeats_resolution(status, outcome)]
        assert repeating == [RESOLVED_AS[outcome]]
        assert RESOLVED_AS[outcome] not in OPEN_STATUSES
    assert repeats_resolution(DisputeStatus.RESOLVED_RELEASE, Outcome.RELEASE_TO_SELLER)
    assert not repeats_resolution(DisputeStatus.RESOLVED_RELEASE, Outcome.REFUND_BUYER)
    assert not repeats_resolution(DisputeStatus.RESOLVED_REFUND, Outcome.SPLIT)
    assert not repeats_resolution(DisputeStatus.WON, Outcome.REFUND_BUYER)
