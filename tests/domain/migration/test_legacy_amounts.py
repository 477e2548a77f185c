from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from hypothesis import given
from hypothesis import strategies as st

from app.domain.migration import (
    InvalidLegacyBalance,
    LegacyAmount,
    Outcome,
    Snapshot,
    Tally,
    reconcile,
    to_minor_units,
)


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


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.floats(min_value=0, max_value=1e15, allow_nan=False),
                st.integers(min_value=0, max_value=10**15),
                st.decimals(min_value=0, max_value=10**15, allow_nan=False, places=2).map(str),
            ),
            st.sampled_from([Outcome.MIGRATED, Outcome.REJECTED, Outcome.ALREADY_MIGRATED]),
        ),
        max_size=60,
    )
)
def test_totals_reconcile_exactly_however_large_and_noisy_the_amounts(
    wallets: list[tuple[object, Outcome]],
) -> None:
    snapshot, tally = Snapshot(), Tally()
    halves = Tally()
    for index, (balance, outcome) in enumerate(wallets):
        snapshot.add(f"user-{index}", balance, "USD")
        (tally if index % 2 else halves).add(outcome, balance, "USD")
    tally.merge(halves)

    assert all(currency.holds for currency in reconcile(snapshot, tally))


def test_a_total_of_trillions_keeps_the_noise_of_a_double_that_the_default_context_would_round() -> None:
    snapshot, tally = Snapshot(), Tally()
    for index, balance in enumerate([1e12, 0.1 + 0.2, 4.5e13, 0.1 + 0.7]):
        snapshot.add(f"user-{index}", balance, "usd")
        tally.add(Outcome.REJECTED if balance > 1 else Outcome.MIGRATED, balance, "usd")

    (usd,) = reconcile(snapshot, tally)

    assert usd.holds
    assert usd.legacy == Decimal("46000000000001.09999999999999994")
    assert usd.legacy != Decimal("1e12") + Decimal("4.5e13") + Decimal(repr(0.1 + 0.2)) + Decimal(
        repr(0.1 + 0.7)
    )
