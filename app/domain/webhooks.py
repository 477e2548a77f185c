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


class DueWindow:
    """How far past the oldest due event a worker looks for events to claim.

    A query `next_attempt_at <= t` reads every index entry up to `t`, and a database may read
    them all before it applies the limit (SecantusDB does). Asking for the events due up to
    *now* would then cost the whole backlog on every claim. The window asks only up to `span`
    past the oldest due event it saw, and sizes `span` so about `fetch` events fall in it: when
    a look comes back full, `span` becomes what those `fetch` events covered; when it comes back
    short, `span` grows to hold `fetch` at the density it found. Nothing can be missed: there is
    no lower bound, and a look too short to fill a batch is `widen`ed at once (the caller then
    looks up to now if that is short too).
    """

    MIN_SPAN = timedelta(milliseconds=1)
    MAX_SPAN = timedelta(hours=1)

    def __init__(self, fetch: int, span: timedelta = timedelta(seconds=1)) -> None:
        self.fetch = fetch
        self.span = span
        self.oldest: datetime | None = None

    def upper(self, now: datetime) -> datetime:
        """Look for events due up to this time."""
        return now if self.oldest is None else min(now, self.oldest + self.span)

    def observe(self, due_times: list[datetime], looked_up_to: datetime) -> None:
        """What a look up to `looked_up_to` found: the due times of (up to `fetch`) events,
        oldest first."""
        if not due_times:  # nothing due at all: the next look goes up to now
            self.oldest = None
            return
        self.oldest = due_times[0]
        if len(due_times) >= self.fetch:  # full: the span those events covered holds `fetch`
            span = due_times[-1] - due_times[0]
        else:  # short: as far again as it takes to hold `fetch` at the density found
            span = (looked_up_to - self.oldest) * self.fetch / len(due_times)
        self.span = min(max(span, self.MIN_SPAN), self.MAX_SPAN)

    def widen(self) -> None:
        """The last look held too few events to fill a batch: look four times as far."""
        self.span = min(self.span * 4, self.MAX_SPAN)


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
