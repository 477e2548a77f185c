"""A refund of an escrow that has paid its seller: paid from the platform, the seller's share the
net they lose, the platform's the fee it loses, together exactly the refund."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.checkout import EscrowStatus, terms_after_refund
from app.domain.fees import FeeSchedule
from app.domain.ledger import Accounts
from app.domain.refunds import refund_paid_from

ESCROW = Accounts.escrow("ord_1", "seller_1")


@pytest.mark.parametrize(
    ("status", "paid_from"),
    [
        (EscrowStatus.HELD, ESCROW),
        (EscrowStatus.DISPUTED, ESCROW),
        (EscrowStatus.RELEASED, Accounts.PLATFORM_FEES),
        (EscrowStatus.TRANSFERRED, Accounts.PLATFORM_FEES),
    ],
)
def test_a_refund_is_paid_from_the_escrow_until_it_paid_its_seller_then_by_the_platform(
    status: EscrowStatus, paid_from: str
) -> None:
    assert refund_paid_from(status, ESCROW) == paid_from


@given(
    gross=st.integers(min_value=1, max_value=10_000_000),
    bps=st.integers(min_value=0, max_value=3000),
    data=st.data(),
)
def test_the_sellers_and_the_platforms_shares_of_a_refund_add_up_to_it_to_the_cent(
    gross: int, bps: int, data: st.DataObject
) -> None:
    fees = FeeSchedule(bps, 0)
    refunded_before = data.draw(st.integers(min_value=0, max_value=gross - 1))
    amount = data.draw(st.integers(min_value=1, max_value=gross - refunded_before))
    fee_before, net_before = terms_after_refund(gross, refunded_before, fees, "usd")
    fee_after, net_after = terms_after_refund(gross, refunded_before + amount, fees, "usd")
    seller_share, platform_share = net_before - net_after, fee_before - fee_after
    assert seller_share + platform_share == amount
    assert 0 <= seller_share <= net_before
    assert 0 <= platform_share <= fee_before
