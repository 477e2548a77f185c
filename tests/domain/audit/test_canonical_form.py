"""The canonical form that audit hashes cover: pinned, injective where it matters, and stable
through a round trip to MongoDB."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import bson
import bson.int64
import pytest
from bson.codec_options import CodecOptions
from hypothesis import given
from hypothesis import strategies as st

from app.domain.audit import (
    EMPTY_CHAIN,
    GENESIS_HASH,
    Actor,
    ActorKind,
    AuditEvent,
    AuditObject,
    UnauditableValue,
    canonical_bytes,
    record_hash,
    seal_after,
)

AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
BSON_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


def event(**overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "at": AT,
        "actor": Actor.webhook("evt_1"),
        "action": "topup.status_changed",
        "object": AuditObject("topup", "tu_1"),
        "before": {"status": "requires_payment"},
        "after": {"status": "succeeded", "amount": 2000},
        "request_id": None,
    }
    return AuditEvent(**{**fields, **overrides})


def test_the_canonical_form_of_a_record_is_pinned() -> None:
    """The documented form, byte for byte: an independent verifier depends on it."""
    expected = (
        '{"action":"topup.status_changed","actor":{"id":"evt_1","kind":"webhook"},'
        '"after":{"amount":2000,"status":"succeeded"},"at":{"$date":"2026-03-01T12:30:05.123Z"},'
        '"before":{"status":"requires_payment"},"object":{"id":"tu_1","type":"topup"},'
        f'"prev_hash":"{GENESIS_HASH}","request_id":null,"seq":1}}'
    ).encode("ascii")

    assert canonical_bytes(event().chained_fields(1, GENESIS_HASH)) == expected
    assert record_hash(event(), 1, GENESIS_HASH) == hashlib.sha256(expected).hexdigest()


def test_text_is_ascii_with_escapes_and_keys_sorted_by_code_point() -> None:
    assert canonical_bytes({"é": "ü 😀", "Z": 1, "a": True}) == (
        b'{"Z":1,"a":true,"\\u00e9":"\\u00fc \\ud83d\\ude00"}'
    )


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        20.0,
        Decimal("1.50"),
        b"bytes",
        {1: "an integer key"},
        {"$date": "not a datetime"},
        datetime(2026, 1, 1),  # naive
        2**63,
        -(2**63) - 1,
        {"nested": [{"deep": 0.1}]},
    ],
)
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(UnauditableValue):
        canonical_bytes({"value": value})
    with pytest.raises(UnauditableValue):
        event(after={"value": value})


def test_a_boolean_an_integer_and_a_datetime_look_alike_as_text_only() -> None:
    assert canonical_bytes(True) != canonical_bytes(1)
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    assert canonical_bytes(moment) != canonical_bytes("2026-03-01T00:00:00.000Z")


def test_datetimes_are_utc_milliseconds() -> None:
    same_millisecond = AT.replace(microsecond=123999)
    in_paris = AT.astimezone(timezone(timedelta(hours=1)))
    assert canonical_bytes(AT) == canonical_bytes(same_millisecond) == canonical_bytes(in_paris)
    assert canonical_bytes(AT) != canonical_bytes(AT + timedelta(milliseconds=1))


def test_an_event_refuses_a_missing_actor_and_a_malformed_action() -> None:
    with pytest.raises(UnauditableValue):
        event(actor="admin-1")
    with pytest.raises(UnauditableValue):
        event(action="changed")
    with pytest.raises(UnauditableValue):
        Actor(ActorKind.ADMIN, "")


def test_a_person_is_named_by_their_strongest_role() -> None:
    assert Actor.from_roles("u1", {"buyer", "support", "admin"}) == Actor(ActorKind.ADMIN, "u1")
    assert Actor.from_roles("u1", {"seller", "support"}) == Actor(ActorKind.SUPPORT, "u1")
    assert Actor.from_roles("u1", {"buyer"}) == Actor(ActorKind.USER, "u1")
    assert Actor.from_roles("u1", set()) == Actor(ActorKind.USER, "u1")


def test_each_seal_chains_to_the_one_before() -> None:
    events = [event(request_id=f"req-{index}") for index in range(3)]
    seals = seal_after(EMPTY_CHAIN, events)

    assert [s.seq for s in seals] == [1, 2, 3]
    assert seals[0].prev_hash == GENESIS_HASH
    assert [s.prev_hash for s in seals[1:]] == [s.hash for s in seals[:-1]]
    assert len({s.hash for s in seals}) == 3


audit_keys = st.text().filter(lambda key: not key.startswith("$") and "\x00" not in key)
json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | st.datetimes(timezones=st.just(UTC), min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text().filter(lambda k: not k.startswith("$") and "\x00" not in k), children, max_size=4
        )
    ),
    max_leaves=12,
)


@given(value=json_like)
def test_the_canonical_form_survives_a_round_trip_through_bson(value: Any) -> None:
    """What the verifier reads back from MongoDB hashes exactly as what was written."""
    stored = bson.decode(bson.encode({"v": value}), codec_options=BSON_OPTIONS)["v"]
    assert canonical_bytes(stored) == canonical_bytes(value)


@given(items=st.dictionaries(audit_keys, st.integers(min_value=0, max_value=10**12), max_size=8))
def test_key_order_does_not_change_the_canonical_form(items: dict[str, int]) -> None:
    reversed_order = dict(reversed(list(items.items())))
    assert canonical_bytes(reversed_order) == canonical_bytes(items)


def test_bsons_64_bit_integers_are_plain_integers() -> None:
    assert canonical_bytes({"amount": bson.int64.Int64(2**62)}) == canonical_bytes({"amount": 2**62})
