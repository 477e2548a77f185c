"""Reviewing reconciliation: the runs and their discrepancies for staff, and an admin's
resolution of a discrepancy, acknowledged or corrected by an adjustment entry in the ledger.

A resolution is one transaction: the discrepancy moves by compare-and-set from a status it may
leave, the adjustment (if any) is posted, and the change is audited (`discrepancy.resolved`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.reconciliation import (
    Adjustment,
    DiscrepancyAlreadyResolved,
    DiscrepancyStatus,
    InvalidAdjustment,
    Resolution,
    adjustment_entry,
)
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.reconciliation.repository import (
    Discrepancy,
    DiscrepancyResolution,
    Page,
    ReconciliationRepository,
    ReconciliationRun,
)

log = structlog.get_logger(__name__)

RESOLVED = "discrepancy.resolved"


class ReconciliationReview:
    def __init__(
        self, database: Database, repository: ReconciliationRepository, ledger: Ledger, audit: AuditLog
    ) -> None:
        self._db = database
        self._repository = repository
        self._ledger = ledger
        self._audit = audit

    async def runs(self, limit: int, starting_after: str | None) -> Page[ReconciliationRun]:
        """Runs, newest first."""
        return await self._repository.runs_page(limit, starting_after)

    async def last_run(self) -> ReconciliationRun | None:
        return await self._repository.latest_run()

    async def last_succeeded(self) -> ReconciliationRun | None:
        return await self._repository.last_succeeded()

    async def discrepancies(
        self, status: DiscrepancyStatus | None, limit: int, starting_after: str | None
    ) -> Page[Discrepancy]:
        """Discrepancies, newest first, of one status or all."""
        return await self._repository.discrepancies_page(status, limit, starting_after)

    async def count(self, status: DiscrepancyStatus) -> int:
        return await self._repository.count(status)

    async def get(self, discrepancy_id: str) -> Discrepancy:
        discrepancy = await self._repository.get(discrepancy_id)
        if discrepancy is None:
            raise NotFound(f"no discrepancy {discrepancy_id}")
        return discrepancy

    async def resolve(
        self,
        discrepancy_id: str,
        resolution: Resolution,
        note: str,
        admin: Actor,
        adjustment: Adjustment | None = None,
    ) -> Discrepancy:
        """Acknowledge the discrepancy, or correct it with `adjustment` (required then, refused
        otherwise): an entry of kind `adjustment` keyed by the discrepancy, with the admin and note."""
        if (adjustment is not None) != (resolution is Resolution.ADJUSTED):
            raise InvalidAdjustment("an adjusted resolution carries an adjustment, and only it does")
        resolved = DiscrepancyResolution(
            resolution=resolution,
            note=note,
            by=admin.id,
            at=datetime.now(UTC),
            adjustment_entry_id=None,
        )
        before = await self._db.transaction(
            lambda session: self._resolve_in(session, discrepancy_id, resolved, admin, adjustment)
        )
        log.info(
            "discrepancy_resolved",
            discrepancy_id=discrepancy_id,
            resolution=str(resolution),
            previous_status=str(before.status),
            adjusted=adjustment is not None,
        )
        return await self.get(discrepancy_id)

    async def _resolve_in(
        self,
        session: AsyncClientSession,
        discrepancy_id: str,
        resolved: DiscrepancyResolution,
        admin: Actor,
        adjustment: Adjustment | None,
    ) -> Discrepancy:
        posted = (
            adjustment_entry(discrepancy_id, adjustment, admin_id=admin.id, note=resolved.note)
            if adjustment is not None
            else None
        )
        if posted is not None:
            resolved = DiscrepancyResolution(
                resolved.resolution, resolved.note, resolved.by, resolved.at, adjustment_entry_id=posted.key
            )
        before = await self._repository.resolve(session, discrepancy_id, resolved)
        if before is None:
            current = await self._repository.get(discrepancy_id, session)
            if current is None:
                raise NotFound(f"no discrepancy {discrepancy_id}")
            raise DiscrepancyAlreadyResolved(
                f"discrepancy {discrepancy_id} is {current.status}; it cannot be {resolved.resolution} now"
            )
        after: dict[str, object] = {"status": str(resolved.resolution.status), "note": resolved.note}
        if posted is not None and adjustment is not None:
            await self._ledger.post_in(session, posted)
            after.update(
                adjustment_entry=posted.key,
                adjustment_from=adjustment.source,
                adjustment_to=adjustment.destination,
                amount=adjustment.amount,
                currency=adjustment.currency,
            )
        await self._audit.record(
            session,
            admin,
            RESOLVED,
            AuditObject("discrepancy", discrepancy_id),
            before={"status": str(before.status)},
            after=after,
        )
        return before
