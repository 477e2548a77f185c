"""Refund sourcing: each source at most what it still has, the amount exact, the order kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.checkout import Funding, terms_after_refund
from app.domain.fees import FeeSchedule
from app.domain.refunds import (
    DEFAULT_SOURCE_ORDER,
    DuplicateRefundSource,
    RefundExceedsPaid,
    RefundSource,
    source_refund,
)

amounts = st.integers(min_value=0, max_value=10_000_000)
fundings = st.builds(Funding, legacy=amounts, wallet=amounts, card=amounts)
orders = st.permutations(list(RefundSource)).flatmap(
    lambda sources: st.integers(min_value=1, max_value=3).map(lambda n: tuple(sources[:n]))
)


@given(remaining=fundings, order=orders, data=st.data())
def test_a_refund_takes_exactly_its_amount_each_source_in_order_never_beyond_what_it_has(
    remaining: Funding, order: tuple[RefundSource, ...], data: st.DataObject
) -> None:
    held = {source: getattr(remaining, str(source)) for source in order}
    amount = data.draw(st.integers(min_value=0, max_value=sum(held.values())))
    parts = source_refund(remaining, amount, order)
    assert parts.total == amount
    assert remaining.covers(parts)
    taken = [getattr(parts, str(source)) for source in order]
    # A source is touched only once every source before it is empty.
    for index, source in enumerate(order):
        if taken[index] < held[source]:
            assert all(amount == 0 for amount in taken[index + 1 :])
    assert all(getattr(parts, str(source)) == 0 for source in RefundSource if source not in order)


@given(remaining=fundings, order=orders, extra=st.integers(min_value=1, max_value=1000))
def test_more_than_the_named_sources_have_is_refused(
    remaining: Funding, order: tuple[RefundSource, ...], extra: int
) -> None:
    refundable = sum(getattr(remaining, str(source)) for source in order)
    with pytest.raises(RefundExceedsPaid) as refused:
        source_refund(remaining, refundable + extra, order)
    assert refused.value.extensions["refundable"] == refundable


def test_card_first_by_default_and_a_source_named_once() -> None:
    assert source_refund(Funding(legacy=200, wallet=3000, card=3799), 4000, DEFAULT_SOURCE_ORDER) == Funding(
        legacy=0, wallet=201, card=3799
    )
    with pytest.raises(DuplicateRefundSource):
        source_refund(Funding(card=10), 5, (RefundSource.CARD, RefundSource.CARD))


@given(gross=st.integers(min_value=0, max_value=10_000_000), data=st.data(), bps=st.integers(0, 10_000))
def test_what_an_escrow_keeps_is_split_into_fee_and_net_to_the_cent(
    gross: int, data: st.DataObject, bps: int
) -> None:
    refunded = data.draw(st.integers(min_value=0, max_value=gross))
    fee, net = terms_after_refund(gross, refunded, FeeSchedule(bps, 30), "usd")
    assert refunded + fee + net == gross
    assert 0 <= fee <= gross - refunded
