"""Prometheus metrics of checkout: checkouts by outcome, money into and out of escrow, and the
transfers to sellers that are not made yet.

What escrow holds now, across every replica, is
`sum(escrow_held_minor_units_total) - sum(escrow_released_minor_units_total)`: counters add up
across processes where a per-process gauge could not.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge

from app.domain.checkout import TransferStatus
from app.services import monitoring
from app.services.checkout.transfer_repository import WaitingTotal

# Orders by outcome, under the name the alert rules and the dashboard read (`app.services.monitoring`).
CHECKOUTS = monitoring.CHECKOUTS
ESCROW_HELD = Counter(
    "escrow_held_minor_units_total", "Money that went into escrow (held), minor units", ["currency"]
)
ESCROW_RELEASED = Counter(
    "escrow_released_minor_units_total",
    "Money released from escrow to sellers and the platform fee, minor units",
    ["currency", "reason"],
)
TRANSFERS_WAITING = Gauge(
    "seller_transfers_not_made",
    "Transfers to sellers not made yet, by status, as the last transfer-pending pass counted them",
    ["status"],
)
TRANSFERS_WAITING_AMOUNT = Gauge(
    "seller_transfers_not_made_minor_units",
    "Money of the transfers to sellers not made yet, by status (all currencies), minor units",
    ["status"],
)


def record_waiting(totals: Mapping[TransferStatus, WaitingTotal]) -> None:
    for status in TransferStatus:
        if status is TransferStatus.TRANSFERRED:
            continue
        total = totals.get(status, WaitingTotal(0, 0))
        TRANSFERS_WAITING.labels(str(status)).set(total.count)
        TRANSFERS_WAITING_AMOUNT.labels(str(status)).set(total.amount)
