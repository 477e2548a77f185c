from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.webhooks import DueWindow, RetryPolicy


def test_retry_delays_double_up_to_the_cap_and_attempts_run_out() -> None:
    policy = RetryPolicy(
        max_attempts=8,
        base_delay=timedelta(seconds=10),
        max_delay=timedelta(seconds=60),
        claim_ttl=timedelta(seconds=30),
    )

    assert [policy.delay_after(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert policy.delay_after(10_000) == timedelta(seconds=60)
    assert not policy.exhausted(7)
    assert policy.exhausted(8)


def test_the_due_window_spans_what_a_full_look_covered_and_scales_a_short_one() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = start + timedelta(hours=2)
    window = DueWindow(fetch=4, span=timedelta(seconds=8))
    assert window.upper(now) == now  # nothing seen yet: everything due up to now

    window.observe([start + timedelta(seconds=s) for s in (0, 1, 2, 3)], now)  # full: 4 events in 3 s
    assert window.upper(now) == start + timedelta(seconds=3)

    # Short: 2 events in the 3 s looked at, so 4 should fall in 6 s.
    window.observe([start + timedelta(seconds=s) for s in (1, 2)], start + timedelta(seconds=4))
    assert window.upper(now) == start + timedelta(seconds=7)
    window.widen()
    assert window.upper(now) == start + timedelta(seconds=25)
    assert window.upper(start + timedelta(seconds=12)) == start + timedelta(seconds=12)  # never past now

    window.observe([], now)
    assert window.upper(now) == now


@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=10**7), max_size=8), max_size=12),
    st.integers(min_value=0, max_value=10**8),
    st.booleans(),
)
def test_the_due_window_span_stays_within_its_bounds(looks: list[list[int]], ahead: int, widen: bool) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    window = DueWindow(fetch=8)
    for look in looks:
        due = [start + timedelta(milliseconds=ms) for ms in sorted(look)]
        window.observe(due, (due[-1] if due else start) + timedelta(milliseconds=ahead))
        if widen:
            window.widen()
        assert DueWindow.MIN_SPAN <= window.span <= DueWindow.MAX_SPAN
