"""The figures operators watch, read from the books and the collections: for the admin overview
(`GET /admin/overview`) and the Prometheus gauges (`export`, on every scrape of `/metrics`).

Each figure is one indexed read (a count, the sum of a range of balance documents, one run);
they are read concurrently. A domain that adds a figure adds a field to `Figures`, its read to
`read`, and its field to the overview's response (CONVENTIONS.md, "The admin overview").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.errors import PyMongoError

from app.domain.reconciliation import DiscrepancyStatus
from app.domain.wallet import TopupStatus
from app.domain.webhooks import EventStatus
from app.services.ledger import Ledger
from app.services.monitoring import metrics
from app.services.reconciliation import ReconciliationReview, ReconciliationRun
from app.services.wallet import Topups
from app.services.webhooks import WebhookEvents

log = structlog.get_logger(__name__)

ESCROW = ("escrow:", "")
PENDING_TRANSFERS = ("seller:", ":pending_transfer")


@dataclass(frozen=True, slots=True)
class Figures:
    escrow_held: dict[str, int]
    pending_transfers: dict[str, int]
    open_discrepancies: int
    dead_letters: int
    topups_needing_review: int
    webhook_oldest_due_at: datetime | None
    last_reconciliation: ReconciliationRun | None
    last_successful_reconciliation: ReconciliationRun | None


class OperationsFigures:
    def __init__(
        self,
        ledger: Ledger,
        webhook_events: WebhookEvents,
        topups: Topups,
        reconciliation: ReconciliationReview,
        currency: str,
    ) -> None:
        self._ledger = ledger
        self._webhook_events = webhook_events
        self._topups = topups
        self._reconciliation = reconciliation
        self._currency = currency

    async def read(self) -> Figures:
        escrow, pending, open_discrepancies, dead_letters, to_review, oldest_due = await asyncio.gather(
            self._ledger.custody_by_currency(*ESCROW),
            self._ledger.custody_by_currency(*PENDING_TRANSFERS),
            self._reconciliation.count(DiscrepancyStatus.OPEN),
            self._webhook_events.count(EventStatus.DEAD_LETTER),
            self._topups.count(TopupStatus.NEEDS_REVIEW),
            self._webhook_events.oldest_due_at(),
        )
        last_run, last_success = await asyncio.gather(
            self._reconciliation.last_run(), self._reconciliation.last_succeeded()
        )
        return Figures(
            escrow_held=self._with_platform_currency(escrow),
            pending_transfers=self._with_platform_currency(pending),
            open_discrepancies=open_discrepancies,
            dead_letters=dead_letters,
            topups_needing_review=to_review,
            webhook_oldest_due_at=oldest_due,
            last_reconciliation=last_run,
            last_successful_reconciliation=last_success,
        )

    async def export(self) -> None:
        """Set the gauges of `app.services.monitoring.metrics` from the figures read now. Without
        MongoDB they keep their last values, so the counters are still served (`/readyz` says why)."""
        try:
            figures = await self.read()
        except PyMongoError as exc:
            log.warning("metrics_figures_unreadable", error=type(exc).__name__)
            return
        for currency, amount in figures.escrow_held.items():
            metrics.ESCROW_HELD.labels(currency).set(amount)
        for currency, amount in figures.pending_transfers.items():
            metrics.PENDING_TRANSFERS.labels(currency).set(amount)
        metrics.OPEN_DISCREPANCIES.set(figures.open_discrepancies)
        metrics.DEAD_LETTERS.set(figures.dead_letters)
        metrics.TOPUPS_NEEDING_REVIEW.set(figures.topups_needing_review)
        due = figures.webhook_oldest_due_at
        metrics.OLDEST_DUE_AGE.set(max((datetime.now(UTC) - due).total_seconds(), 0.0) if due else 0.0)
        success = figures.last_successful_reconciliation
        finished = success.finished_at if success else None
        metrics.LAST_RECONCILIATION.set(finished.timestamp() if finished else 0.0)

    def _with_platform_currency(self, amounts: dict[str, int]) -> dict[str, int]:
        """Per currency, the platform's always present (at zero when nothing is held)."""
        return {self._currency: 0, **amounts}
