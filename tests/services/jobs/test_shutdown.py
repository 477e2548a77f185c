"""The service stops within seconds, whatever its background tasks are doing when it is told to.

`make run` gives every component 2 seconds after Ctrl-C or SIGTERM; so does this.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.background import stop_background_tasks
from app.main import create_app
from app.services.jobs import PeriodicJob, periodic_jobs
from tests.conftest import make_settings
from tests.mongo_server import free_port, wait_until_ready

STOP_WITHIN_SECONDS = 2.0


async def never_answers(started: asyncio.Event, cancelled: asyncio.Event) -> None:
    """A call to Stripe or MongoDB that does not come back."""
    started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        cancelled.set()
        raise


async def test_a_task_stuck_in_a_call_is_cancelled_and_one_that_heeds_the_stop_is_not() -> None:
    stop = asyncio.Event()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def heeds_stop() -> None:
        await stop.wait()

    stuck = asyncio.create_task(never_answers(started, cancelled))
    polite = asyncio.create_task(heeds_stop())
    await started.wait()

    async with asyncio.timeout(STOP_WITHIN_SECONDS):
        await stop_background_tasks(stop, [stuck, polite])

    assert cancelled.is_set()
    assert stuck.cancelled()
    assert polite.done()
    assert not polite.cancelled()


async def test_a_periodic_job_in_the_middle_of_a_pass_does_not_hold_the_shutdown() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()
    job = PeriodicJob("stuck", 60, lambda: never_answers(started, cancelled))

    async with asyncio.timeout(STOP_WITHIN_SECONDS):
        async with periodic_jobs([job]):
            await started.wait()

    assert cancelled.is_set()


@pytest.fixture
def database_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A SecantusDB server of this test's own, which the test stops while the service runs."""
    port = free_port()
    secantusd = str(Path(sys.executable).with_name("secantusd-py"))
    process = subprocess.Popen(
        [secantusd, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}/?replicaSet=secantus&directConnection=true"
    try:
        wait_until_ready(uri, process)
        yield uri, process
    finally:
        process.kill()
        process.wait()


async def test_the_service_stops_promptly_when_its_database_is_already_gone(
    database_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    uri, process = database_process
    # Both background tasks on, as in production: the janitor and the webhook worker.
    app = create_app(make_settings(uri, jobs_enabled=True, webhook_worker_enabled=True))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    await asyncio.sleep(0.5)  # the janitor has made its first pass, with a session to end at close
    process.kill()
    process.wait()

    async with asyncio.timeout(STOP_WITHIN_SECONDS):
        await lifespan.__aexit__(None, None, None)
