"""Prometheus metrics of payouts: how many reached each status, and how much money.

Counters add up across processes: what is on its way to banks now is
`sum(payouts_minor_units_total{status="requested"}) - paid - failed - canceled` (a payout made at
Stripe directly is counted from its first stored status).
"""

from __future__ import annotations

from prometheus_client import Counter

from app.domain.payouts import PayoutStatus
from app.services import monitoring

# Payouts by the status they reached, under the name the alert rules and the dashboard read.
PAYOUTS = monitoring.PAYOUTS
PAYOUT_AMOUNTS = Counter(
    "payouts_minor_units_total",
    "Money of the payouts that reached each status, minor units",
    ["status", "currency"],
)


def counted(status: PayoutStatus, amount: int, currency: str) -> None:
    PAYOUTS.labels(str(status)).inc()
    PAYOUT_AMOUNTS.labels(str(status), currency).inc(amount)
