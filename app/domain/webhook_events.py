"""Stripe webhook events as the service sees them: parsed, normalized, versioned, retried.

Pure: no I/O. `app.services.webhooks` stores and processes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class EventStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"
    IGNORED = "ignored"


# An event document carries `next_attempt_at` exactly while it may still be claimed: pending,
# failed, or processing (then it is the end of the current claim, so a crashed worker's event
# is claimed again). Finished events drop it, so "due" is one range on one sparse index.


class MalformedEvent(ValueError):
    """The body is not a Stripe v1 snapshot event."""


@dataclass(frozen=True, slots=True, order=True)
class EventVersion:
    """Where an event stands in the history of its Stripe object.

    Stripe's `created` has one-second resolution; two events of the same second are ordered
    by id so every worker, whatever the arrival order, converges on the same final state.
    """

    created: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """The few facts handlers, the admin API and reconciliation need, without the payload."""

    event_type: str
    object_type: str | None
    object_id: str | None
    account: str | None
    amount: int | None
    currency: str | None
    refs: Mapping[str, str] = field(default_factory=dict)

    def as_document(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "account": self.account,
            "amount": self.amount,
            "currency": self.currency,
            "refs": dict(self.refs),
        }


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    created: datetime
    livemode: bool
    account: str | None
    data_object: Mapping[str, Any]
    previous_attributes: Mapping[str, Any] | None
    normalized: NormalizedEvent

    @property
    def version(self) -> EventVersion:
        return EventVersion(self.created, self.id)


def parse_event(payload: Any) -> WebhookEvent:
    """The event in a verified webhook body; raises `MalformedEvent` if it is not one."""
    if not isinstance(payload, Mapping) or payload.get("object") != "event":
        raise MalformedEvent("the body is not a Stripe event object")
    event_id, event_type = payload.get("id"), payload.get("type")
    created, livemode = payload.get("created"), payload.get("livemode")
    account, data = payload.get("account"), payload.get("data")
    if not isinstance(event_id, str) or not event_id.startswith("evt_"):
        raise MalformedEvent("the event has no `evt_` id")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedEvent("the event has no type")
    if type(created) is not int or not isinstance(livemode, bool):
        raise MalformedEvent("the event needs an integer `created` and a boolean `livemode`")
    if account is not None and not isinstance(account, str):
        raise MalformedEvent("the event's `account` must be a string")
    if not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
        raise MalformedEvent("the event has no `data.object`")
    previous = data.get("previous_attributes")
    return WebhookEvent(
        id=event_id,
        type=event_type,
        created=datetime.fromtimestamp(created, UTC),
        livemode=livemode,
        account=account,
        data_object=data["object"],
        previous_attributes=previous if isinstance(previous, Mapping) else None,
        normalized=normalize(event_type, account, data["object"]),
    )


def normalize(event_type: str, account: str | None, data_object: Mapping[str, Any]) -> NormalizedEvent:
    amount, currency = data_object.get("amount"), data_object.get("currency")
    return NormalizedEvent(
        event_type=event_type,
        object_type=_string_or_none(data_object.get("object")),
        object_id=_string_or_none(data_object.get("id")),
        account=account,
        amount=amount if type(amount) is int else None,
        currency=_string_or_none(currency),
        refs=our_refs(data_object.get("metadata")),
    )


def our_refs(metadata: Any) -> dict[str, str]:
    """Our own ids, which every Stripe object we create carries in metadata as `*_id`."""
    if not isinstance(metadata, Mapping):
        return {}
    return {
        key: value
        for key, value in metadata.items()
        if isinstance(key, str) and key.endswith("_id") and isinstance(value, str) and value
    }


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_delay: timedelta
    max_delay: timedelta
    claim_ttl: timedelta

    def delay_after(self, attempts: int) -> timedelta:
        """Exponential backoff: base, 2 * base, 4 * base and so on, capped at `max_delay`."""
        exponent = min(max(attempts - 1, 0), 20)
        delay: timedelta = self.base_delay * 2**exponent
        return min(delay, self.max_delay)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
