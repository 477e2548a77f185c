from datetime import timedelta

from app.domain.webhooks import RetryPolicy


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
