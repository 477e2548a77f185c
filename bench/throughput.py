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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

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
    # The database server's CPU time per item, and the share of one core it used meanwhile.
    server_cpu_ms: float
    server_busy_percent: float
    # What became of the attempts (claims lost to another worker included) and the commands the
    # server refused (write conflicts), over all processes.
    outcomes: Counter[str]
    failed_commands: Counter[str]


def database_server() -> psutil.Process | None:
    """The SecantusDB process this benchmark started (a child of ours), if it did."""
    servers = [child for child in psutil.Process().children() if "secantusd" in " ".join(child.cmdline())]
    return servers[0] if len(servers) == 1 else None


def cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


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
    server = database_server()
    server_cpu = cpu_seconds(server)
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    results: list[dict[str, Any]] = []
    for worker in workers:
        output, _ = await worker.communicate()
        results.append(json.loads(output.decode().strip().splitlines()[-1]))
    server_cpu = cpu_seconds(server) - server_cpu
    done = sum(int(result["done"]) for result in results)
    elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
    outcomes: Counter[str] = sum((Counter(result["outcomes"]) for result in results), Counter())
    failed: Counter[str] = sum((Counter(result["failed_commands"]) for result in results), Counter())
    store = sum(
        seconds
        for result in results
        for command, seconds in result["command_seconds"].items()
        if command.endswith(" webhook_events")
    )
    cpu = sum(result["cpu_seconds"] for result in results)
    per_item = 1000 / max(done, 1)
    return Run(
        done,
        done / elapsed,
        store * per_item,
        cpu * per_item,
        server_cpu * per_item,
        100 * server_cpu / elapsed,
        outcomes,
        failed,
    )


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
        report("  database server CPU per event", processing.server_cpu_ms, "ms")
        report("  database server CPU per raw ledger post", raw.server_cpu_ms, "ms")
        report(
            "  database server busy (share of one core) while processing", processing.server_busy_percent, "%"
        )
        report("  database server busy (share of one core) while posting raw", raw.server_busy_percent, "%")
        attempts = ", ".join(f"{name} {count}" for name, count in sorted(processing.outcomes.items()))
        refused = ", ".join(f"{name} {count}" for name, count in processing.failed_commands.items()) or "none"
        print(f"{'':<8}attempts: {attempts}; commands refused by the server: {refused}")


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


def main() -> None:
    """This benchmark alone: `python -m bench.throughput`."""
    import uuid

    from app.container import running_services
    from app.observability import configure_logging
    from bench.__main__ import THROUGHPUT_EVENTS, report
    from bench.settings import STRIPE_KEY, bench_settings
    from stripe_emulator.settings import EmulatorSettings
    from tests.mongo_server import secantus_server

    async def alone(uri: str, emulator: EmulatorServer) -> None:
        settings = bench_settings(uri, f"bench_{uuid.uuid4().hex[:8]}", emulator.base_url)
        async with running_services(settings) as services:
            try:
                await run(services, emulator, uri, THROUGHPUT_EVENTS, report)
            finally:
                await services.database.client.drop_database(settings.mongodb_database)

    configure_logging("ERROR")
    emulator_settings = EmulatorSettings(api_key=STRIPE_KEY, processing_delay_seconds=None)
    with secantus_server() as uri, EmulatorServer(emulator_settings) as emulator:
        asyncio.run(alone(uri, emulator))


if __name__ == "__main__":
    main()
