"""The audit trail's rules: who changed what, and the hash chain that makes the log tamper-evident.

Pure: no I/O, no clock. `app.services.audit` stores events and seals them into the chain.

A record is `{seq, at, actor: {kind, id}, action, object: {type, id}, before, after, request_id,
prev_hash, hash}`. `hash` is the SHA-256 (lowercase hex) of the record's canonical form, which
covers every one of those fields except `hash` itself; `prev_hash` is the `hash` of record
`seq - 1`, and `GENESIS_HASH` (64 zeros) for record 1. Changing, removing or reordering a record
therefore breaks the chain at that record.

Canonical form, version 1 (what an independent verifier re-implements):

- The record is the JSON object `{"seq", "at", "actor": {"kind", "id"}, "action",
  "object": {"type", "id"}, "before", "after", "request_id", "prev_hash"}`, serialized as JSON
  text (RFC 8259) with no insignificant whitespace (separators `,` and `:`), the keys of every
  object sorted by Unicode code point, every non-ASCII character written as a lowercase
  `\\uXXXX` escape (astral characters as surrogate pairs), so the text is pure ASCII; the hashed
  bytes are that ASCII text.
- Integers are written in decimal without sign for positives, exponent or fraction, and must
  fit in a signed 64-bit integer (what BSON stores). Money is such an integer of minor units.
  Floats (and decimals, binary, ObjectIds, anything else) are refused: they are not money here,
  and their text form would not survive a round trip.
- `true`, `false` and `null` as JSON has them; strings as JSON strings (`"` and `\\` escaped,
  control characters as `\\n`, `\\t`, ... or `\\u00XX`).
- A datetime (only timezone-aware ones) is the object `{"$date": "YYYY-MM-DDTHH:MM:SS.mmmZ"}` in
  UTC, truncated to whole milliseconds: BSON keeps milliseconds, so a record read back from
  MongoDB hashes exactly as it did when written. Keys starting with `$` are refused in
  `before`/`after`, so a datetime and an object can never share a canonical form.
- Lists and tuples are JSON arrays, in order; mapping keys must be strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_HASH = re.compile(r"^[0-9a-f]{64}$")

State = Mapping[str, Any]


class UnauditableValue(TypeError):
    """A value with no canonical form (a float, a `$` key, a naive datetime): a bug at the caller."""


class ActorKind(StrEnum):
    USER = "user"
    ADMIN = "admin"
    SUPPORT = "support"
    JOB = "job"
    WEBHOOK = "webhook"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: a person (by their strongest role), a job, a Stripe event, the system."""

    kind: ActorKind
    id: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ActorKind) or not isinstance(self.id, str) or not self.id:
            raise UnauditableValue(f"an actor is an ActorKind and an id, not {self.kind!r}, {self.id!r}")

    @classmethod
    def user(cls, user_id: str) -> Actor:
        return cls(ActorKind.USER, user_id)

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls(ActorKind.JOB, name)

    @classmethod
    def webhook(cls, event_id: str) -> Actor:
        """A change a Stripe event caused, named by the event's id."""
        return cls(ActorKind.WEBHOOK, event_id)

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(ActorKind.SYSTEM, component)

    @classmethod
    def from_roles(cls, user_id: str, roles: Collection[str]) -> Actor:
        """A person acting with a token: admin over support over any other role."""
        for kind in (ActorKind.ADMIN, ActorKind.SUPPORT):
            if kind.value in roles:
                return cls(kind, user_id)
        return cls.user(user_id)


@dataclass(frozen=True, slots=True)
class AuditObject:
    """What a change was made to: a type (`topup`, `webhook_event`, ...) and its id."""

    type: str
    id: str

    def __post_init__(self) -> None:
        if not self.type or not self.id:
            raise UnauditableValue("an audited object has a type and an id")


@dataclass(frozen=True, slots=True)
class AuditChange:
    """One change of a batch recorded together (`AuditLog.record_many`)."""

    action: str
    object: AuditObject
    before: State | None
    after: State | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change as recorded in the transaction that made it, before it is sealed into the chain."""

    at: datetime
    actor: Actor
    action: str
    object: AuditObject
    before: State | None
    after: State | None
    request_id: str | None

    def __post_init__(self) -> None:
        if not isinstance(self.actor, Actor):
            raise UnauditableValue(f"an audit event needs an Actor, not {self.actor!r}")
        if not _ACTION.match(self.action):
            raise UnauditableValue(f"an action is `object_type.verb` in snake case, not {self.action!r}")
        # Refuse what cannot be hashed now, inside the caller's transaction, not at sealing time.
        canonical_bytes(self.chained_fields(0, GENESIS_HASH))

    def chained_fields(self, seq: int, prev_hash: str) -> dict[str, Any]:
        """The record the hash covers: every field but the hash itself."""
        return {
            "seq": seq,
            "at": self.at,
            "actor": {"kind": self.actor.kind.value, "id": self.actor.id},
            "action": self.action,
            "object": {"type": self.object.type, "id": self.object.id},
            "before": self.before,
            "after": self.after,
            "request_id": self.request_id,
            "prev_hash": prev_hash,
        }


@dataclass(frozen=True, slots=True)
class Seal:
    """An event's place in the chain."""

    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sealed record: where the next seal goes."""

    seq: int
    hash: str


EMPTY_CHAIN = ChainHead(0, GENESIS_HASH)


def record_hash(event: AuditEvent, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical_bytes(event.chained_fields(seq, prev_hash))).hexdigest()


def seal_after(head: ChainHead, events: Sequence[AuditEvent]) -> list[Seal]:
    """Seals for `events`, in order, continuing the chain after `head`."""
    seals: list[Seal] = []
    for event in events:
        seq, prev_hash = head.seq + 1, head.hash
        seal = Seal(seq, prev_hash, record_hash(event, seq, prev_hash))
        seals.append(seal)
        head = ChainHead(seal.seq, seal.hash)
    return seals


def canonical_bytes(value: Any) -> bytes:
    text = json.dumps(
        _canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def utc_millis(moment: datetime) -> datetime:
    """`moment` in UTC, truncated to the millisecond, as MongoDB will store it."""
    if moment.tzinfo is None:
        raise UnauditableValue("audited datetimes carry a timezone")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        # A comparison, not `in range(...)`: that is a linear scan for int subclasses (bson's Int64).
        if not INT64_MIN <= value <= INT64_MAX:
            raise UnauditableValue(f"the integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, datetime):
        return {"$date": utc_millis(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if isinstance(value, Mapping):
        return {_canonical_key(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    raise UnauditableValue(f"{type(value).__name__} has no canonical form (money is an integer)")


def _canonical_key(key: Any) -> str:
    if not isinstance(key, str) or key.startswith("$"):
        raise UnauditableValue(f"audited keys are strings not starting with '$', not {key!r}")
    return key


# Verifying a chain, one record at a time, remembering only the previous record.


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record at which the chain does not hold, and why."""

    seq: int
    record_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """A record as read back for verification."""

    id: str
    event: AuditEvent
    seal: Seal


class ChainWalk:
    """Checks sealed records fed in `seq` order; `finish` compares the end with the stored head."""

    def __init__(self) -> None:
        self.head = EMPTY_CHAIN

    def check(self, record: SealedEvent) -> ChainBreak | None:
        expected, seal = self.head.seq + 1, record.seal
        if seal.seq != expected:
            return ChainBreak(expected, None, f"record {expected} is missing: record {seal.seq} follows it")
        if seal.prev_hash != self.head.hash:
            return ChainBreak(seal.seq, record.id, f"prev_hash is not the hash of record {seal.seq - 1}")
        if not _HASH.match(seal.hash) or record_hash(record.event, seal.seq, seal.prev_hash) != seal.hash:
            return ChainBreak(seal.seq, record.id, "the record does not match its hash")
        self.head = ChainHead(seal.seq, seal.hash)
        return None

    def unreadable(self, seq: object, record_id: str, problem: str) -> ChainBreak:
        """The break for a record that is not a well-formed sealed record at all."""
        expected = self.head.seq + 1
        if seq != expected:
            return ChainBreak(expected, None, f"record {expected} is missing: record {seq} follows it")
        return ChainBreak(expected, record_id, f"the record cannot be read: {problem}")

    def finish(self, stored_head: ChainHead) -> ChainBreak | None:
        """The chain must end where the sealer says it ends: nothing cut off its tail."""
        walked = self.head
        if stored_head == walked:
            return None
        if stored_head.seq > walked.seq:
            missing = walked.seq + 1
            return ChainBreak(
                missing, None, f"record {missing} is missing: the chain head is at {stored_head.seq}"
            )
        if stored_head.seq < walked.seq:
            extra = stored_head.seq + 1
            return ChainBreak(extra, None, f"record {extra} is past the chain head at {stored_head.seq}")
        return ChainBreak(walked.seq, None, f"the chain head's hash is not the hash of record {walked.seq}")
