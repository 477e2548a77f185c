"""Prometheus metrics of top-ups: each top-up counted once when it reaches an outcome (the
compare-and-set that moved it decides, so a repeated event counts nothing)."""

from __future__ import annotations

from prometheus_client import Counter

from app.domain.wallet import TopupStatus

TOPUPS = Counter(
    "payments_topups",
    "Top-ups by the outcome they reached: succeeded (credited), failed, canceled, needs_review",
    ["outcome"],
)

for _outcome in (TopupStatus.SUCCEEDED, TopupStatus.FAILED, TopupStatus.CANCELED, TopupStatus.NEEDS_REVIEW):
    TOPUPS.labels(str(_outcome))
