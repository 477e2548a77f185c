"""Webhook processing throughput with 1, 2 and 4 worker processes, beside a raw ledger post.

Each worker is a process of its own with its own MongoDB client, as replicas of the service are,
so what is measured is the claim contention between them, not an event loop shared in-process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.container import Services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from bench.events import store_paid_topups

Report = Callable[[str, float, str], None]
WORKER_COUNTS = (1, 2, 4)


async def raw_ledger_posts(services: Services, count: int) -> float:
    """Entries per second posted one after the other: a card credit to a distinct wallet each."""
    run = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for index in range(count):
        credit = Move(Accounts.CARD, Accounts.buyer_wallet(f"raw-{run}-{index}"), 100, "usd")
        await services.ledger.post(entry(f"raw:{run}:{index}", EntryKind.TOPUP, [credit]))
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Run:
    events: int
    events_per_second: float
    # Time the workers waited on commands of `webhook_events` (claims and outcomes), per event.
    event_store_ms_per_event: float


async def processing_run(uri: str, database: str, workers: int) -> Run:
    """`workers` processes draining the due events, timed from their common start to the last
    one's end."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.webhook_worker",
            uri,
            database,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    for process in processes:
        assert process.stdout is not None
        while (await process.stdout.readline()).strip() != b"ready":
            assert not process.stdout.at_eof(), "a worker process ended before it was ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    results = []
    for process in processes:
        output, _ = await process.communicate()
        results.append(json.loads(output.decode().strip().splitlines()[-1]))
    events = sum(int(result["events"]) for result in results)
    elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
    store_seconds = sum(
        seconds
        for result in results
        for command, seconds in result["command_seconds"].items()
        if command.endswith(" webhook_events")
    )
    return Run(events, events / elapsed, 1000 * store_seconds / max(events, 1))


async def run(services: Services, uri: str, events: int, report: Report) -> None:
    raw = await raw_ledger_posts(services, events)
    report("raw ledger post (card -> wallet), one after the other", raw, "entries/s")
    for workers in WORKER_COUNTS:
        await store_paid_topups(services, events)
        result = await processing_run(uri, services.settings.mongodb_database, workers)
        assert result.events == events, f"{workers} workers processed {result.events} of {events} events"
        report(
            f"top-up webhook processing, {workers} worker process(es)", result.events_per_second, "events/s"
        )
        report(f"  as a share of a raw ledger post ({workers})", 100 * result.events_per_second / raw, "%")
        report(f"  waiting on webhook_events, per event ({workers})", result.event_store_ms_per_event, "ms")
