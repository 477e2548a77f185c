"""The daily run: the latest whole UTC day that ended RECONCILIATION_DELAY_HOURS ago, once,
missed days caught up, one runner at a time; the command's run under the same lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.container import Services, in_service_jobs
from app.domain.reconciliation import RunTrigger, Window, day_due
from app.services.jobs import Lease
from app.services.reconciliation import (
    RECONCILIATION_JOB,
    LeaseHeldElsewhere,
    reconcile_due_day,
    reconcile_window,
)

DELAY = timedelta(hours=2)
MIDNIGHT = datetime(2026, 3, 10, tzinfo=UTC)


async def test_each_day_is_reconciled_once_its_delay_has_passed(services: Services) -> None:
    database, reconciliation = services.database, services.reconciliation

    too_early = await reconcile_due_day(database, reconciliation, DELAY, now=MIDNIGHT + timedelta(hours=1))
    first = await reconcile_due_day(database, reconciliation, DELAY, now=MIDNIGHT + timedelta(hours=3))
    again = await reconcile_due_day(database, reconciliation, DELAY, now=MIDNIGHT + timedelta(hours=9))

    # At one o'clock the last day is not past its delay yet: the day before it is due.
    assert too_early is not None
    assert too_early.window == Window(MIDNIGHT - timedelta(days=2), MIDNIGHT - timedelta(days=1))
    assert first is not None
    assert first.window == Window(MIDNIGHT - timedelta(days=1), MIDNIGHT)
    assert first.trigger is RunTrigger.SCHEDULE
    assert again is None


async def test_missed_days_are_caught_up_in_one_window(services: Services) -> None:
    database, reconciliation = services.database, services.reconciliation
    await reconcile_due_day(database, reconciliation, DELAY, now=MIDNIGHT + timedelta(hours=3))

    caught_up = await reconcile_due_day(
        database, reconciliation, DELAY, now=MIDNIGHT + timedelta(days=3, hours=3)
    )

    assert caught_up is not None
    assert caught_up.window == Window(MIDNIGHT, MIDNIGHT + timedelta(days=3))


async def test_replicas_racing_for_the_day_run_it_once(services: Services) -> None:
    now = MIDNIGHT + timedelta(hours=3)
    runs = await asyncio.gather(
        *(
            reconcile_due_day(
                services.database, services.reconciliation, DELAY, now=now, owner=f"replica-{n}"
            )
            for n in range(3)
        )
    )

    assert len([run for run in runs if run is not None]) == 1
    page = await services.reconciliation_review.runs(10, None)
    assert len(page.data) == 1


async def test_a_command_run_waits_for_no_one_and_refuses_while_another_runs(services: Services) -> None:
    window = Window(MIDNIGHT, MIDNIGHT + timedelta(hours=6))
    held = Lease(services.database, RECONCILIATION_JOB, "the-daily-run", timedelta(minutes=5))
    assert await held.acquire()

    with pytest.raises(LeaseHeldElsewhere):
        await reconcile_window(services.database, services.reconciliation, window)
    await held.release()
    run = await reconcile_window(services.database, services.reconciliation, window)

    assert (run.trigger, run.window) == (RunTrigger.COMMAND, window)


async def test_the_service_runs_the_daily_reconciliation(services: Services) -> None:
    [job] = [job for job in in_service_jobs(services) if job.name == "reconciliation"]

    await job.run()
    await job.run()

    [run] = (await services.reconciliation_review.runs(10, None)).data
    assert run.trigger is RunTrigger.SCHEDULE
    assert run.window == day_due(
        datetime.now(UTC), timedelta(hours=services.settings.reconciliation_delay_hours)
    )
    assert job.interval_seconds == services.settings.reconciliation_interval_seconds
