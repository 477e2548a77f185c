"""The figures operators watch, read from the books and the collections: for the admin overview
(`GET /admin/overview`) and the Prometheus gauges (`export`, on every scrape of `/metrics`).

Each figure is one indexed read (a count, the sum of a range of balance documents, one run);
they are read concurrently, in two rounds (the counts, then the sums and the runs), so one read
holds at most seven of the pool's connections. A domain that adds a figure adds a field to
`Figures`, its read to `read`, its source to `FigureSources`, and its field to the overview's
response (CONVENTIONS.md, "The admin overview").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from pymongo.errors import PyMongoError

from app.domain.checkout import TransferStatus
from app.domain.disputes import DisputeKind
from app.domain.reconciliation import DiscrepancyStatus
from app.domain.refunds import RefundStatus
from app.domain.wallet import TopupStatus
from app.domain.webhooks import EventStatus
from app.services.monitoring import metrics

if TYPE_CHECKING:
    # Types only: checkout and payouts import this package for the counters they feed.
    from app.services.checkout import SellerTransfers
    from app.services.disputes import Disputes
    from app.services.ledger import Ledger
    from app.services.migration import MigrationRun, MigrationRuns
    from app.services.reconciliation import ReconciliationReview, ReconciliationRun
    from app.services.refunds import Refunds
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
    open_disputes: int
    open_chargebacks: int
    failed_transfers: int
    failed_refunds: int
    webhook_oldest_due_at: datetime | None
    last_reconciliation: ReconciliationRun | None
    last_successful_reconciliation: ReconciliationRun | None
    # The newest legacy wallet migration run, with its progress (`MigrationRun.wallets_progress`).
    last_migration: MigrationRun | None


@dataclass(frozen=True, slots=True)
class FigureSources:
    """The services each figure is read through (their public modules, never a collection)."""

    ledger: Ledger
    webhook_events: WebhookEvents
    topups: Topups
    reconciliation: ReconciliationReview
    disputes: Disputes
    transfers: SellerTransfers
    refunds: Refunds
    migration_runs: MigrationRuns


class OperationsFigures:
    def __init__(self, sources: FigureSources, currency: str) -> None:
        self._from = sources
        self._currency = currency

    async def read(self) -> Figures:
        source = self._from
        counts = await asyncio.gather(
            source.reconciliation.count(DiscrepancyStatus.OPEN),
            source.webhook_events.count(EventStatus.DEAD_LETTER),
            source.topups.count(TopupStatus.NEEDS_REVIEW),
            source.disputes.count_open(DisputeKind.BUYER),
            source.disputes.count_open(DisputeKind.CHARGEBACK),
            source.transfers.count(TransferStatus.FAILED),
            source.refunds.count(RefundStatus.FAILED),
        )
        escrow, pending, oldest_due, last_run, last_success, last_migration = await asyncio.gather(
            source.ledger.custody_by_currency(*ESCROW),
            source.ledger.custody_by_currency(*PENDING_TRANSFERS),
            source.webhook_events.oldest_due_at(),
            source.reconciliation.last_run(),
            source.reconciliation.last_succeeded(),
            source.migration_runs.latest(),
        )
        discrepancies, dead_letters, to_review, disputes, chargebacks, transfers, refunds = counts
        return Figures(
            escrow_held=self._with_platform_currency(escrow),
            pending_transfers=self._with_platform_currency(pending),
            open_discrepancies=discrepancies,
            dead_letters=dead_letters,
            topups_needing_review=to_review,
            open_disputes=disputes,
            open_chargebacks=chargebacks,
            failed_transfers=transfers,
            failed_refunds=refunds,
            webhook_oldest_due_at=oldest_due,
            last_reconciliation=last_run,
            last_successful_reconciliation=last_success,
            last_migration=last_migration,
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
