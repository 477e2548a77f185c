"""Webhook processing throughput with 1, 2 and 4 worker processes, each beside raw ledger posts
by as many processes, measured in the same run.

Every worker is a process of its own with its own MongoDB client, as replicas of the service
are, so what is measured is the contention between them (claims included), not an event loop
shared in-process. Raw ledger posts are measured at the same concurrency because the database
itself may not scale with clients: SecantusDB serves them all from one Python process.

Two workloads: top-up credits alone (the intents carry no charge: MongoDB only), and the events
the emulator sends for top-ups paid there, whose handling also reads each charge from Stripe
for its fee, with Stripe's round trip set to `STRIPE_ROUND_TRIP_SECONDS` as from a data centre.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.container import Services
from bench.events import store_paid_topups, store_topups_paid_at_stripe
from stripe_emulator.testing import EmulatorServer

Report = Callable[[str, float, str], None]
WORKER_COUNTS = (1, 2, 4)
STRIPE_ROUND_TRIP_SECONDS = 0.05


@dataclass(frozen=True)
class Run:
    done: int
    per_second: float
    # Time the processes waited on commands of `webhook_events` (claims, outcomes), per item.
    event_store_ms: float
    # The processes' own CPU time per item (parsing, driver, service code).
    client_cpu_ms: float


async def run_processes(
    job: str, uri: str, database: str, processes: int, count_each: int = 0, stripe_api_base: str = ""
) -> Run:
    """`processes` worker processes doing `job`, timed from their common start to the last end."""
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.worker",
            job,
            uri,
            database,
            str(count_each),
            stripe_api_base,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None
        while (await worker.stdout.readline()).strip() != b"ready":
            assert not worker.stdout.at_eof(), "a worker process ended before it was ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    results: list[dict[str, Any]] = []
    for worker in workers:
        output, _ = await worker.communicate()
        results.append(json.loads(output.decode().strip().splitlines()[-1]))
    done = sum(int(result["done"]) for result in results)
    elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
    store = sum(
        seconds
        for result in results
        for command, seconds in result["command_seconds"].items()
        if command.endswith(" webhook_events")
    )
    cpu = sum(result["cpu_seconds"] for result in results)
    return Run(done, done / elapsed, 1000 * store / max(done, 1), 1000 * cpu / max(done, 1))


async def run(services: Services, emulator: EmulatorServer, uri: str, events: int, report: Report) -> None:
    database = services.settings.mongodb_database
    for workers in WORKER_COUNTS:
        raw = await run_processes("ledger", uri, database, workers, events // workers)
        await store_paid_topups(services, events)
        processing = await run_processes("webhooks", uri, database, workers)
        assert processing.done == events, f"{workers} workers processed {processing.done} of {events} events"
        report(f"raw ledger post (card -> wallet), {workers} process(es)", raw.per_second, "entries/s")
        report(f"top-up webhook processing, {workers} worker process(es)", processing.per_second, "events/s")
        share = 100 * processing.per_second / raw.per_second
        report("  share of the raw ledger post at that concurrency", share, "%")
        if workers == 1:
            print(
                f"{'':<8}(goal with one worker: at least a third: {'met' if share >= 100 / 3 else 'MISSED'})"
            )
        report("  waiting on webhook_events (claims, outcomes), per event", processing.event_store_ms, "ms")
        report("  worker CPU per event (parse, driver, service)", processing.client_cpu_ms, "ms")


async def run_with_stripe(
    services: Services, emulator: EmulatorServer, uri: str, events: int, report: Report
) -> None:
    database = services.settings.mongodb_database
    for workers in WORKER_COUNTS:
        await store_topups_paid_at_stripe(services, emulator, events)
        await emulator.control_async(
            "faults",
            path_prefix="/v1/charges",
            method="GET",
            count=events,
            delay_seconds=STRIPE_ROUND_TRIP_SECONDS,
        )
        processing = await run_processes(
            "webhooks", uri, database, workers, stripe_api_base=emulator.base_url
        )
        assert processing.done == events, f"{workers} workers processed {processing.done} of {events} events"
        away = f"{STRIPE_ROUND_TRIP_SECONDS * 1000:.0f} ms"
        name = f"top-up webhooks, charges read from Stripe {away} away, {workers} worker(s)"
        report(name, processing.per_second, "events/s")
