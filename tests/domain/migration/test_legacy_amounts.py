from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from hypothesis import given
from hypothesis import strategies as st

from app.domain.migration import InvalidLegacyBalance, LegacyAmount, to_minor_units


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, LegacyAmount(1250, normalized=False)),
        ("12.50", LegacyAmount(1250, normalized=False)),
        (0.30000000000000004, LegacyAmount(30, normalized=True)),
        (0.1 + 0.2, LegacyAmount(30, normalized=True)),
        (1e2, LegacyAmount(10000, normalized=False)),
        ("1e2", LegacyAmount(10000, normalized=False)),
        (0, LegacyAmount(0, normalized=False)),
        (7, LegacyAmount(700, normalized=False)),
        (" 3.10 ", LegacyAmount(310, normalized=False)),
        (Decimal128("19.99"), LegacyAmount(1999, normalized=False)),
        (1234567.89, LegacyAmount(123456789, normalized=False)),
    ],
)
def test_legacy_values_convert_to_exact_cents(value: object, expected: LegacyAmount) -> None:
    assert to_minor_units(value, "usd") == expected


@pytest.mark.parametrize(
    "value",
    [
        -5,
        -0.01,
        "-1.00",
        12.345,
        "12.345",
        "abc",
        "",
        float("nan"),
        "NaN",
        float("inf"),
        "Infinity",
        None,
        True,
        [1],
        1e20,
    ],
)
def test_invalid_legacy_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidLegacyBalance):
        to_minor_units(value, "usd")


def test_zero_decimal_currencies_have_no_cents() -> None:
    assert to_minor_units(500, "jpy") == LegacyAmount(500, normalized=False)
    with pytest.raises(InvalidLegacyBalance):
        to_minor_units(500.5, "jpy")


@given(cents=st.integers(min_value=0, max_value=10**9))
def test_every_whole_cent_double_round_trips(cents: int) -> None:
    assert to_minor_units(cents / 100, "usd").minor_units == cents
    assert to_minor_units(str(Decimal(cents) / 100), "usd").minor_units == cents


@given(parts=st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=50))
def test_sums_of_doubles_keep_their_cents(parts: list[int]) -> None:
    """What the legacy system did: add doubles. The noise it left must not cost or make a cent."""
    total = 0.0
    for cents in parts:
        total += cents / 100
    assert to_minor_units(total, "usd").minor_units == sum(parts)
