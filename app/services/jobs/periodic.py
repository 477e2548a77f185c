"""Periodic jobs inside the HTTP service. Each job takes its own lease, so any number of
replicas (and cron-started CLI runs) can be up at once while one runner does the work."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from app.background import stop_background_tasks

log = structlog.get_logger(__name__)


def runner_id() -> str:
    """A name for this process among the replicas, for leases and claims."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]


async def _repeat(job: PeriodicJob, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await job.run()
        except Exception:
            # A failed pass is retried at the next interval; the job's state lives in MongoDB.
            log.exception("periodic_job_failed", job=job.name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), job.interval_seconds)


@contextlib.asynccontextmanager
async def periodic_jobs(jobs: Sequence[PeriodicJob]) -> AsyncIterator[None]:
    """Run each job every `interval_seconds` as a task of the current loop while the block runs."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_repeat(job, stop), name=f"job:{job.name}") for job in jobs]
    try:
        yield
    finally:
        await stop_background_tasks(stop, tasks)
