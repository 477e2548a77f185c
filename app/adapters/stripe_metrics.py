"""Prometheus metrics of the calls to Stripe: every HTTP attempt, by method and outcome, with latency.

Each attempt counts, retries included, so the error rate is Stripe's as this service meets it.
The outcome is one of a few classes (never Stripe's free-form codes), to keep label values bounded.
"""

from __future__ import annotations

import stripe
from prometheus_client import Counter, Histogram

SUCCEEDED = "succeeded"
# Outcomes that say Stripe (or the way to it) is failing, as opposed to a refusal of the request.
FAILURES = ("rate_limited", "server_error", "network_error", "auth_error")

CALLS = Counter(
    "payments_stripe_api_calls",
    "HTTP attempts to Stripe by method (e.g. payment_intents.create) and outcome: succeeded, declined, "
    "invalid_request, idempotency_error, conflict, rate_limited, server_error, network_error, auth_error",
    ["method", "outcome"],
)
LATENCY = Histogram(
    "payments_stripe_api_call_duration_seconds",
    "Duration of each HTTP attempt to Stripe, by method",
    ["method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)


def outcome_of(error: stripe.StripeError | None) -> str:
    if error is None:
        return SUCCEEDED
    status = error.http_status or 0
    if isinstance(error, stripe.CardError):
        return "declined"
    if isinstance(error, stripe.APIConnectionError):
        return "network_error"
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return "auth_error"
    if isinstance(error, stripe.RateLimitError) or status == 429:
        return "rate_limited"
    if isinstance(error, stripe.IdempotencyError):
        return "idempotency_error"
    if status == 409:
        return "conflict"
    if status >= 500 or status == 0:
        return "server_error"
    return "invalid_request"


def observe(method: str, error: stripe.StripeError | None, seconds: float) -> None:
    CALLS.labels(method, outcome_of(error)).inc()
    LATENCY.labels(method).observe(seconds)
