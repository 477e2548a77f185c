"""Prometheus metrics of the webhook pipeline."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter(
    "stripe_webhook_events_received_total",
    "Verified Stripe events received, by type and whether they were new or a repeat delivery",
    ["type", "result"],
)
REJECTED = Counter(
    "stripe_webhook_deliveries_rejected_total",
    "Deliveries refused before storage, by reason",
    ["reason"],
)
PROCESSED = Counter(
    "stripe_webhook_events_processed_total",
    "Events whose handlers succeeded (processed) or that have no handler (ignored)",
    ["type", "outcome"],
)
FAILED = Counter(
    "stripe_webhook_event_failures_total",
    "Handler attempts that failed, by event type",
    ["type"],
)
DEAD_LETTERED = Counter(
    "stripe_webhook_events_dead_lettered_total",
    "Events moved to dead_letter after their last allowed attempt",
    ["type"],
)
PROCESSING_LAG = Histogram(
    "stripe_webhook_processing_lag_seconds",
    "Time from the event's creation at Stripe to its successful processing here",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600),
)
