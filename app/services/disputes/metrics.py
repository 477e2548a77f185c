"""Prometheus metrics of disputes and chargebacks: opened by kind, resolved by kind and outcome."""

from __future__ import annotations

from prometheus_client import Counter

OPENED = Counter("disputes_opened_total", "Disputes opened, by kind (buyer, chargeback)", ["kind"])
RESOLVED = Counter(
    "disputes_resolved_total",
    "Disputes resolved or closed, by kind and outcome (refund_buyer, release_to_seller, split, won, lost)",
    ["kind", "outcome"],
)
