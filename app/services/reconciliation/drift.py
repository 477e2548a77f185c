"""The platform balance's drift as a run settles it: at most one drift discrepancy stands per
currency, and it is what the latest run's reading left unexplained (`settle_drift`).

One transaction per reading: the drift standing is read, found again, or superseded (audited,
`discrepancy.superseded`) with the drift the reading measures opened beside it. A supersession
closes a notice and books nothing: the ledger and Stripe are left as they are.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError

from app.db import DUPLICATE_KEY, Database
from app.domain.audit import Actor, AuditObject
from app.domain.reconciliation import BalanceReading, DiscrepancyStatus, settle_drift, superseded_because
from app.services.audit import AuditLog
from app.services.reconciliation.repository import ReconciliationRepository, Recorded, Supersession

log = structlog.get_logger(__name__)

SUPERSEDED = "discrepancy.superseded"
# The run closes the drift by itself, whoever started it (the daily job or an operator's command).
RUNS = Actor.system("reconciliation")
# Two runs settling one currency at once (the lease keeps runs apart; a run that outlived its
# lease does not) meet at the unique index: the one refused reads what the other left, again.
ATTEMPTS = 3


class BalanceDrifts:
    def __init__(self, database: Database, repository: ReconciliationRepository, audit: AuditLog) -> None:
        self._db = database
        self._repository = repository
        self._audit = audit

    async def settle(self, run_id: str, reading: BalanceReading, now: datetime) -> Recorded:
        """Bring the drift standing in the reading's currency to what the reading leaves unexplained."""
        for _ in range(ATTEMPTS - 1):
            try:
                return await self._settle_once(run_id, reading, now)
            except BulkWriteError as exc:
                if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
                    raise
                log.info("reconciliation_drift_settled_elsewhere", run_id=run_id, currency=reading.currency)
        return await self._settle_once(run_id, reading, now)

    async def _settle_once(self, run_id: str, reading: BalanceReading, now: datetime) -> Recorded:
        return await self._db.transaction(lambda session: self._settle_in(session, run_id, reading, now))

    async def _settle_in(
        self, session: AsyncClientSession, run_id: str, reading: BalanceReading, now: datetime
    ) -> Recorded:
        standing = await self._repository.standing_drifts(session, reading.currency)
        settlement = settle_drift(standing, reading, run_id)
        # A drift that stopped standing since it was read (an admin adjusted it) is neither found
        # again nor superseded: the next run measures what the adjustment left.
        if settlement.found_again is not None:
            found = await self._repository.found_again(session, settlement.found_again, run_id, now)
            return Recorded(new=0, known=1 if found else 0)
        opens = settlement.opens
        superseded = 0
        for drift in settlement.superseded:
            supersession = Supersession(
                run_id=run_id,
                at=now,
                unexplained=reading.unexplained,
                replaced_by=opens.key if opens is not None else None,
                reason=superseded_because(drift, reading),
            )
            before = await self._repository.supersede(session, drift.id, supersession)
            if before is None:
                continue
            await self._audit.record(
                session,
                RUNS,
                SUPERSEDED,
                AuditObject("discrepancy", drift.id),
                before={"status": str(before.status)},
                after={
                    "status": str(DiscrepancyStatus.SUPERSEDED),
                    "run": run_id,
                    "unexplained": reading.unexplained,
                    "currency": reading.currency,
                    "replaced_by": supersession.replaced_by,
                },
            )
            superseded += 1
            log.info(
                "discrepancy_superseded",
                discrepancy_id=drift.id,
                run_id=run_id,
                was=drift.balance_effect,
                unexplained=reading.unexplained,
                currency=reading.currency,
            )
        opened = await self._repository.record(run_id, [opens] if opens else [], now, session)
        return Recorded(new=opened.new, known=opened.known, superseded=superseded)
