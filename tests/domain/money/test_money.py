import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.fees import FeeSchedule, round_half_up_div, split_fee
from app.domain.money import CurrencyMismatch, InvalidMoney, Money


@pytest.mark.parametrize(
    ("gross", "bps", "fixed", "fee"),
    [
        (1000, 1000, 0, 100),
        (1005, 1000, 0, 101),  # 100.5 rounds half up
        (1004, 1000, 0, 100),  # 100.4 rounds down
        (15, 1000, 0, 2),  # 1.5 rounds up
        (25, 1000, 0, 3),  # 2.5 rounds up, not to even
        (1999, 290, 30, 88),  # 57.971 -> 58, plus 30
        (20, 290, 30, 20),  # the fee never exceeds the gross
        (0, 1000, 30, 0),
        (12345, 0, 0, 0),
        (12345, 10000, 0, 12345),
    ],
)
def test_fee_rounding_is_pinned(gross: int, bps: int, fixed: int, fee: int) -> None:
    split = split_fee(Money(gross, "usd"), FeeSchedule(bps=bps, fixed=fixed))
    assert split.fee == Money(fee, "usd")
    assert split.net == Money(gross - fee, "usd")


@given(
    gross=st.integers(min_value=0, max_value=99_999_999),
    bps=st.integers(min_value=0, max_value=10_000),
    fixed=st.integers(min_value=0, max_value=10_000),
)
def test_fee_and_net_always_add_up_to_gross(gross: int, bps: int, fixed: int) -> None:
    split = split_fee(Money(gross, "eur"), FeeSchedule(bps=bps, fixed=fixed))
    assert split.fee.amount + split.net.amount == gross
    assert 0 <= split.fee.amount <= gross
    assert split.net.amount >= 0


@given(numerator=st.integers(min_value=0, max_value=10**12), denominator=st.integers(1, 10**6))
def test_round_half_up_matches_exact_rational_rounding(numerator: int, denominator: int) -> None:
    quotient, remainder = divmod(numerator, denominator)
    expected = quotient + (1 if 2 * remainder >= denominator else 0)
    assert round_half_up_div(numerator, denominator) == expected


def test_money_refuses_floats_bad_currencies_and_mixing() -> None:
    with pytest.raises(InvalidMoney):
        Money(10.0, "usd")  # type: ignore[arg-type]
    with pytest.raises(InvalidMoney):
        Money(10, "USD")
    with pytest.raises(CurrencyMismatch):
        Money(1, "usd") + Money(1, "eur")
    assert Money(3, "usd") - Money(1, "usd") == Money(2, "usd")


def test_fee_schedule_rejects_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="bps"):
        FeeSchedule(bps=10_001, fixed=0)
    with pytest.raises(ValueError, match="bps"):
        FeeSchedule(bps=100, fixed=-1)
