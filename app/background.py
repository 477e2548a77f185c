"""Stopping the service's background tasks (periodic jobs, the webhook worker) at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

log = structlog.get_logger(__name__)

# A step in flight (a webhook handler, a janitor pass) usually ends within milliseconds; one that
# does not is waiting on Stripe or on a database that may already be gone, and the process must
# stop within seconds (a deploy, Ctrl-C on `make run`), so it is cancelled rather than awaited.
SHUTDOWN_GRACE_SECONDS = 0.25


async def stop_background_tasks(stop: asyncio.Event, tasks: Sequence[asyncio.Task[None]]) -> None:
    """Ask the tasks to stop, give the step in flight SHUTDOWN_GRACE_SECONDS, then cancel it.

    Cancelling loses nothing: a transaction in flight is aborted, and what the step was doing
    stays in MongoDB (an event's claim, a job's lease, a pending payment operation) for the next
    runner to pick up.
    """
    stop.set()
    if not tasks:
        return
    _, running = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
    for task in running:
        log.warning("background_task_cancelled", task=task.get_name())
        task.cancel()
    if running:
        _, stuck = await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in stuck:
            log.error("background_task_not_stopped", task=task.get_name())
