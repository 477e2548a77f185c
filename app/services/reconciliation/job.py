"""Reconciliation under a lease: the daily run (in the service, every
RECONCILIATION_INTERVAL_SECONDS it looks whether a day is due) and `python -m app reconcile`,
one runner at a time across replicas and commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from app.db import Database
from app.domain.reconciliation import RunTrigger, Window, day_due
from app.services.jobs import Lease, runner_id
from app.services.reconciliation.repository import ReconciliationRun
from app.services.reconciliation.runs import KeepGoing, Reconciliation

log = structlog.get_logger(__name__)

RECONCILIATION_JOB = "reconciliation"
# Renewed between matchers; long enough for the slowest matcher over a busy day.
LEASE_TTL = timedelta(minutes=30)


class LeaseHeldElsewhere(RuntimeError):
    """Another runner is reconciling now."""


async def reconcile_window(
    database: Database, reconciliation: Reconciliation, window: Window, owner: str | None = None
) -> ReconciliationRun:
    """One run of `window`, as an operator's command asks; raises LeaseHeldElsewhere when
    another runner is reconciling."""
    run = await _under_lease(
        database, owner, lambda keep_going: reconciliation.run(window, RunTrigger.COMMAND, keep_going)
    )
    if run is None:
        raise LeaseHeldElsewhere("another runner holds the reconciliation lease")
    return run


async def reconcile_due_day(
    database: Database,
    reconciliation: Reconciliation,
    delay: timedelta,
    now: datetime | None = None,
    owner: str | None = None,
) -> ReconciliationRun | None:
    """The daily run: the latest whole UTC day that ended `delay` ago, unless a scheduled run
    already covered it; from where the last scheduled run ended when days were missed. None when
    nothing is due or another runner holds the lease."""
    due = day_due(now or datetime.now(UTC), delay)

    async def run_if_due(keep_going: KeepGoing) -> ReconciliationRun | None:
        # Asked under the lease, so a replica that waited for it does not run the day again.
        last = await reconciliation.last_succeeded(RunTrigger.SCHEDULE)
        if last is not None and last.window.end >= due.end:
            return None
        window = Window(last.window.end, due.end) if last is not None else due
        return await reconciliation.run(window, RunTrigger.SCHEDULE, keep_going)

    return await _under_lease(database, owner, run_if_due)


async def _under_lease(
    database: Database,
    owner: str | None,
    work: Callable[[KeepGoing], Awaitable[ReconciliationRun | None]],
) -> ReconciliationRun | None:
    lease = Lease(database, RECONCILIATION_JOB, owner or runner_id(), LEASE_TTL)
    if not await lease.acquire():
        log.info("reconciliation_skipped", reason="lease_held_elsewhere")
        return None
    try:
        return await work(lease.acquire)
    finally:
        await lease.release()
