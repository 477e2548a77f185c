"""Prometheus metrics of refunds: how each ends, and the money given back by source."""

from __future__ import annotations

from prometheus_client import Counter

REFUNDS = Counter(
    "refunds_total",
    "Refunds by outcome: requested, succeeded, failed (the card part), retried_to_wallet",
    ["outcome"],
)
REFUNDED = Counter(
    "refunded_minor_units_total",
    "Money given back to buyers by source (card, wallet, legacy), minor units",
    ["currency", "source"],
)
