"""Stripe webhook events as the service handles them: statuses, versions, retries, refusals.

Pure: no I/O. `app.adapters.stripe_webhooks` reads events, `app.services.webhooks` stores and
processes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.errors import ServiceError


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


# What one processing attempt of an event came to.
class Outcome(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"
    CLAIM_LOST = "claim_lost"


# Bounds of what a Stripe event may carry. Stripe's ids are far shorter than these; `created` must
# be a time that datetimes and BSON dates hold (1970 to the end of 9999). An event outside them is
# refused whole, signed or not, rather than stored or half-read.
MAX_EVENT_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 100
MAX_ACCOUNT_ID_LENGTH = 255
MAX_OBJECT_ID_LENGTH = 255
MAX_CREATED = 253_402_300_799


class MalformedEvent(ValueError):
    """The body is not a Stripe v1 snapshot event, or its object is not what its type says."""


class WebhookRejected(ServiceError):
    status = 400


class InvalidSignature(WebhookRejected):
    code = "invalid_signature"
    title = "The Stripe-Signature header is not valid"


class InvalidWebhookPayload(WebhookRejected):
    code = "invalid_webhook_payload"
    title = "The webhook body is not a Stripe event"


class LivemodeMismatch(WebhookRejected):
    code = "livemode_mismatch"
    title = "The event's livemode differs from the configured Stripe mode"


@dataclass(frozen=True, slots=True, order=True)
class EventVersion:
    """Where an event stands in the history of its Stripe object.

    Stripe's `created` has one-second resolution; two events of the same second are ordered
    by id so every worker, whatever the arrival order, converges on the same final state.
    """

    created: datetime
    event_id: str


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
