from datetime import UTC, datetime, timedelta

import pytest

from app.domain.webhook_events import EventVersion, MalformedEvent, RetryPolicy, parse_event
from tests.stripe_events import stripe_event, stripe_object


def test_an_event_is_parsed_and_normalized_from_stripes_payload() -> None:
    refund = stripe_object(
        "refund", metadata={"order_id": "o-1", "refund_id": "r-1", "reason": "x", "empty_id": ""}
    )
    payload = stripe_event(
        "refund.created", refund, account="acct_1", created=1_700_000_000, event_id="evt_1"
    )

    event = parse_event(payload)

    assert event.version == EventVersion(datetime.fromtimestamp(1_700_000_000, UTC), "evt_1")
    assert event.account == "acct_1"
    assert event.data_object == refund
    normalized = event.normalized
    assert (normalized.object_type, normalized.object_id) == ("refund", refund["id"])
    assert (normalized.amount, normalized.currency) == (refund["amount"], refund["currency"])
    assert normalized.refs == {"order_id": "o-1", "refund_id": "r-1"}


@pytest.mark.parametrize(
    "change",
    [
        {"object": "list"},
        {"id": "not-an-event"},
        {"type": ""},
        {"created": "1700000000"},
        {"created": True},
        {"livemode": "false"},
        {"account": 7},
        {"data": {"object": None}},
    ],
)
def test_anything_but_a_stripe_event_is_malformed(change: dict[str, object]) -> None:
    payload = stripe_event("account.updated", stripe_object("account")) | change

    with pytest.raises(MalformedEvent):
        parse_event(payload)


def test_versions_order_by_time_then_event_id() -> None:
    second = datetime(2026, 1, 1, tzinfo=UTC)
    assert EventVersion(second, "evt_b") < EventVersion(second + timedelta(seconds=1), "evt_a")
    assert EventVersion(second, "evt_a") < EventVersion(second, "evt_b")


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
