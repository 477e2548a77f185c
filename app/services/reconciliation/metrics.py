"""Prometheus metrics of reconciliation runs. What stands now (open discrepancies, the last
successful run) is read from MongoDB when metrics are scraped (`app.services.monitoring`), so
every replica reports the same figures."""

from __future__ import annotations

from prometheus_client import Counter

from app.domain.reconciliation import RunStatus

RUNS = Counter(
    "payments_reconciliation_runs", "Reconciliation runs by outcome: succeeded, failed", ["outcome"]
)
DIFFERENCES_FOUND = Counter(
    "payments_reconciliation_differences_found",
    "Differences between Stripe and the books found by runs, by kind (found again by later runs included)",
    ["kind"],
)

for _outcome in (RunStatus.SUCCEEDED, RunStatus.FAILED):
    RUNS.labels(str(_outcome))
