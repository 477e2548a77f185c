"""The janitor: learns the outcome of provider calls left pending, one runner at a time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import structlog

from app.db import Database
from app.services.jobs import Lease, runner_id
from app.services.payment_operations.operations import JANITOR_JOB, PaymentOperations

log = structlog.get_logger(__name__)

JANITOR_LEASE_TTL = timedelta(minutes=10)


async def run_operations_janitor(
    database: Database,
    operations: PaymentOperations,
    older_than: timedelta = timedelta(minutes=5),
    owner: str | None = None,
) -> Counter[str] | None:
    """One janitor pass under the job lease; None when another runner holds the lease."""
    lease = Lease(database, JANITOR_JOB, owner or runner_id(), JANITOR_LEASE_TTL)
    if not await lease.acquire():
        log.info("payment_operations_janitor_skipped", reason="lease_held_elsewhere")
        return None
    try:
        return await operations.reconcile_pending_operations(older_than, keep_going=lease.acquire)
    finally:
        await lease.release()
