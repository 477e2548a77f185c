"""Reading a webhook body: the envelope strictly, the object as its typed value (intake reads the
envelope alone)."""

import json
from datetime import UTC, datetime

import pytest

from app.adapters.payment_provider import Account, PaymentIntent, Refund, UnknownObject
from app.adapters.stripe_webhooks import parse_event, read_envelope
from app.domain.webhooks import MalformedEvent
from tests.stripe_events import connected_account, stripe_event, stripe_object


def test_an_event_is_parsed_and_normalized_from_stripes_payload() -> None:
    refund = stripe_object(
        "refund", metadata={"order_id": "o-1", "refund_id": "r-1", "reason": "x", "empty_id": ""}
    )
    payload = stripe_event(
        "refund.created", refund, account="acct_1", created=1_700_000_000, event_id="evt_1"
    )

    event = parse_event(json.dumps(payload))

    assert (event.id, event.created) == ("evt_1", datetime.fromtimestamp(1_700_000_000, UTC))
    assert event.account == "acct_1"
    typed = event.object_as(Refund)
    assert (typed.id, typed.amount, typed.currency, typed.metadata) == (
        refund["id"],
        refund["amount"],
        refund["currency"],
        refund["metadata"],
    )
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
        parse_event(json.dumps(payload))
    with pytest.raises(MalformedEvent):
        read_envelope(json.dumps(payload))


def test_the_envelope_is_the_parsed_event_without_its_object() -> None:
    intent = stripe_object("payment_intent", amount=2000, metadata={"topup_id": "tu_1"})
    payload = json.dumps(stripe_event("payment_intent.succeeded", intent, account="acct_1"))

    envelope, event = read_envelope(payload), parse_event(payload)

    assert (envelope.id, envelope.type, envelope.created) == (event.id, event.type, event.created)
    assert (envelope.livemode, envelope.account) == (event.livemode, "acct_1")
    assert envelope.normalized == event.normalized
    assert envelope.normalized.refs == {"topup_id": "tu_1"}
    assert not hasattr(envelope, "object")


def test_objects_arrive_typed_with_the_fields_the_services_use() -> None:
    intent = stripe_object("payment_intent", amount=2000, amount_received=1500, metadata={"topup_id": "tu_1"})
    account = connected_account(metadata={"seller_id": "seller-1"})

    paid = parse_event(json.dumps(stripe_event("payment_intent.succeeded", intent))).object_as(PaymentIntent)
    updated = parse_event(json.dumps(stripe_event("account.updated", account))).object_as(Account)

    assert (paid.id, paid.amount, paid.amount_received, paid.metadata) == (
        intent["id"],
        2000,
        1500,
        {"topup_id": "tu_1"},
    )
    assert updated.metadata == {"seller_id": "seller-1"}
    assert updated.capabilities == account["capabilities"]
    assert list(updated.requirements.currently_due) == account["requirements"]["currently_due"]


def test_an_object_the_service_does_not_read_is_kept_as_its_type_and_id() -> None:
    unknown = parse_event(
        json.dumps(stripe_event("application.updated", {"id": "ca_1", "object": "application"}))
    )
    unreadable = parse_event(json.dumps(stripe_event("payout.paid", {"id": "po_1", "object": "payout"})))

    assert unknown.object == UnknownObject(type="application", id="ca_1")
    assert unreadable.object == UnknownObject(type="payout", id="po_1")
    with pytest.raises(MalformedEvent):
        unreadable.object_as(PaymentIntent)
