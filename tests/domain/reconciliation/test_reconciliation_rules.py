"""Reconciliation's pure rules: one name per difference, its effect on the platform balance, the
drift a reading leaves standing, the day a daily run reconciles, and what an admin may book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.ledger import EntryKind
from app.domain.reconciliation import (
    DRIFT,
    Adjustment,
    BalanceReading,
    Difference,
    DiscrepancyStatus,
    Flow,
    InvalidAdjustment,
    Resolution,
    StandingDrift,
    Window,
    adjustment_entry,
    day_due,
    settle_drift,
    unexplained_drift,
)

ids = st.dictionaries(
    st.sampled_from(["payment_intent", "charge", "entry", "topup"]), st.text(min_size=1), max_size=4
)
amounts = st.none() | st.integers(min_value=0, max_value=10**8)


def difference(**fields: object) -> Difference:
    values: dict[str, object] = {
        "kind": "topup_amount_mismatch",
        "currency": "usd",
        "expected": 999,
        "actual": 1000,
        "flow": Flow.INTO_PLATFORM,
        "summary": "paid 1000, credited 999",
        "stripe_ids": {"payment_intent": "pi_1"},
        "our_ids": {"entry": "topup:pi_1"},
    }
    values.update(fields)
    return Difference(**values)  # type: ignore[arg-type]


@given(stripe_ids=ids, our_ids=ids, expected=amounts, actual=amounts)
def test_the_same_difference_has_the_same_key_whatever_the_order_of_its_ids(
    stripe_ids: dict[str, str], our_ids: dict[str, str], expected: int | None, actual: int | None
) -> None:
    one = difference(stripe_ids=stripe_ids, our_ids=our_ids, expected=expected, actual=actual)
    reordered = difference(
        stripe_ids=dict(reversed(stripe_ids.items())),
        our_ids=dict(reversed(our_ids.items())),
        expected=expected,
        actual=actual,
        summary="another wording",
    )

    assert one.key == reordered.key
    assert one.key.startswith("disc_")


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "topup_entry_missing"},
        {"currency": "eur"},
        {"expected": 998},
        {"actual": None},
        {"stripe_ids": {"payment_intent": "pi_2"}},
        {"our_ids": {"entry": "topup:pi_2"}},
    ],
)
def test_another_difference_has_another_key(change: dict[str, object]) -> None:
    assert difference(**change).key != difference().key


@given(expected=amounts, actual=amounts)
def test_money_in_and_money_out_bear_on_the_balance_in_opposite_ways(
    expected: int | None, actual: int | None
) -> None:
    into = difference(expected=expected, actual=actual, flow=Flow.INTO_PLATFORM)
    out = difference(expected=expected, actual=actual, flow=Flow.OUT_OF_PLATFORM)

    assert into.balance_effect == (actual or 0) - (expected or 0)
    assert out.balance_effect == -into.balance_effect
    assert difference(expected=expected, actual=actual, flow=Flow.UNCHECKED).balance_effect == 0


@given(
    stripe=st.integers(-(10**9), 10**9),
    predicted=st.integers(-(10**9), 10**9),
    explained=st.integers(-(10**9), 10**9),
)
def test_a_drift_the_standing_differences_explain_is_no_drift(
    stripe: int, predicted: int, explained: int
) -> None:
    assert unexplained_drift(predicted + explained, predicted, explained) == 0
    assert unexplained_drift(stripe, predicted, explained) + predicted + explained == stripe


money = st.integers(-(10**6), 10**6)
readings = st.builds(BalanceReading, st.just("usd"), money, money, money)
standing_drifts = st.lists(
    st.builds(StandingDrift, st.uuids().map(lambda u: f"disc_{u.hex[:24]}"), money.filter(bool)),
    max_size=3,
    unique_by=lambda drift: drift.id,
)


@given(standing=standing_drifts, reading=readings)
def test_a_reading_leaves_one_drift_standing_and_it_is_what_is_unexplained(
    standing: list[StandingDrift], reading: BalanceReading
) -> None:
    settlement = settle_drift(standing, reading, "rr_1")

    superseded = {drift.id for drift in settlement.superseded}
    left = [drift.balance_effect for drift in standing if drift.id not in superseded]
    if settlement.opens is not None:
        assert (settlement.opens.kind, settlement.opens.our_ids) == (DRIFT, {"run": "rr_1"})
        left.append(settlement.opens.balance_effect)
    assert left == ([reading.unexplained] if reading.unexplained else [])
    # The drift standing is kept when it is the reading (found again), closed otherwise.
    kept = [drift.id for drift in standing if drift.id not in superseded]
    assert kept == ([settlement.found_again] if settlement.found_again else [])


def test_a_lasting_drift_is_found_again_and_a_changed_one_superseded() -> None:
    standing = [StandingDrift("disc_a", -700)]

    lasting = settle_drift(standing, BalanceReading("usd", 0, 700, 0), "rr_2")
    explained = settle_drift(standing, BalanceReading("usd", 0, 700, -700), "rr_2")
    grown = settle_drift(standing, BalanceReading("usd", 0, 900, 0), "rr_2")

    assert (lasting.found_again, lasting.superseded, lasting.opens) == ("disc_a", (), None)
    assert (explained.found_again, explained.superseded, explained.opens) == (None, tuple(standing), None)
    assert grown.superseded == tuple(standing)
    assert grown.opens is not None
    assert (grown.opens.balance_effect, grown.opens.expected, grown.opens.actual) == (-900, 900, 0)


@given(
    now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    delay_hours=st.integers(min_value=0, max_value=22),
)
def test_the_day_due_is_the_latest_whole_utc_day_past_its_delay(now: datetime, delay_hours: int) -> None:
    delay = timedelta(hours=delay_hours)
    window = day_due(now, delay)

    assert window.end - window.start == timedelta(days=1)
    assert (window.end.hour, window.end.minute, window.end.second, window.end.microsecond) == (0, 0, 0, 0)
    assert window.end <= now - delay < window.end + timedelta(days=1)


def test_a_window_ends_after_it_starts_in_aware_times() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="ends after it starts"):
        Window(start, start)
    with pytest.raises(ValueError, match="aware"):
        Window(start.replace(tzinfo=None), start + timedelta(days=1))


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        ("bank account", "world:card"),
        ("world:card", "world:card"),
        ("world:", "buyer:u:wallet"),
        ("ledger:x", "world:card"),
    ],
)
def test_an_adjustment_moves_between_two_ledger_accounts(source: str, destination: str) -> None:
    with pytest.raises(InvalidAdjustment):
        Adjustment(source, destination, 100, "usd")


def test_an_adjustment_is_an_entry_of_kind_adjustment_keyed_by_its_discrepancy() -> None:
    posted = adjustment_entry(
        "disc_1", Adjustment("buyer:u:wallet", "world:card", 250, "usd"), admin_id="admin-1", note="why"
    )

    assert (posted.key, posted.kind) == ("adjustment:disc_1", EntryKind.ADJUSTMENT)
    assert dict(posted.refs) == {"discrepancy": "disc_1", "admin": "admin-1", "note": "why"}


def test_an_acknowledged_discrepancy_may_be_adjusted_and_an_adjusted_one_nothing() -> None:
    assert Resolution.ACKNOWLEDGED.resolvable_from == (DiscrepancyStatus.OPEN,)
    assert DiscrepancyStatus.ADJUSTED not in Resolution.ADJUSTED.resolvable_from
    assert DiscrepancyStatus.ACKNOWLEDGED in Resolution.ADJUSTED.resolvable_from
