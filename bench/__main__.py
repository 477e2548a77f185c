"""`make bench`: the money path's cost, printed as figures beside a raw-database baseline.

Runs against a SecantusDB started for the run (or TEST_MONGODB_URI) and the Stripe emulator,
never against anything remote. MongoDB commands are counted with PyMongo command monitoring.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import httpx

from app.container import Services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.main import create_app
from app.services.ledger import Ledger
from bench import (
    audit,
    checkout,
    commands,
    disputes,
    http,
    migration,
    payouts,
    reconciliation,
    served,
    simulation,
    throughput,
)
from bench.settings import STRIPE_KEY, bench_settings
from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.testing import EmulatorServer
from tests.mongo_server import secantus_server

THROUGHPUT_EVENTS = 400
STRIPE_EVENTS = 200


async def sequential_posts(ledger: Ledger, count: int) -> list[float]:
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        await ledger.post(
            entry(
                f"seq:{index}",
                EntryKind.TOPUP,
                [Move(Accounts.CARD, f"buyer:{index % 20}:wallet", 100, "usd")],
            )
        )
        latencies.append(time.perf_counter() - started)
    return latencies


async def concurrent_posts(ledger: Ledger, count: int, accounts: int, tag: str) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(
            ledger.post(
                entry(
                    f"{tag}:{i}",
                    EntryKind.TOPUP,
                    [Move(Accounts.CARD, f"buyer:{tag}{i % accounts}:wallet", 1, "usd")],
                )
            )
            for i in range(count)
        )
    )
    return time.perf_counter() - started


def report(name: str, value: float, unit: str) -> None:
    print(f"{name:<52} {value:>10.1f} {unit}", flush=True)


async def ledger_figures(ledger: Ledger) -> None:
    latencies = await sequential_posts(ledger, 200)
    report("ledger post, sequential: throughput", len(latencies) / sum(latencies), "entries/s")
    report("ledger post, sequential: p50 latency", statistics.median(latencies) * 1000, "ms")
    report("ledger post, sequential: p95 latency", statistics.quantiles(latencies, n=20)[18] * 1000, "ms")
    elapsed = await concurrent_posts(ledger, 200, accounts=200, tag="conc")
    report("ledger post, 200 concurrent on distinct accounts", 200 / elapsed, "entries/s")
    elapsed = await concurrent_posts(ledger, 50, accounts=1, tag="hot")
    report("ledger post, 50 concurrent on one account", 50 / elapsed, "entries/s")


async def run_all(uri: str, emulator: EmulatorServer, counter: commands.CommandCounter) -> None:
    settings = bench_settings(uri, f"bench_{uuid.uuid4().hex[:8]}", emulator.base_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        try:
            await ledger_figures(services.ledger)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client:
                await http.run(client, services, counter, report)
                await checkout.run(client, services, emulator, counter, report)
                await disputes.run(client, services, counter)
                await payouts.run(client, services, emulator, counter)
            await throughput.run(services, emulator, uri, THROUGHPUT_EVENTS, report)
            await throughput.run_with_stripe(services, emulator, uri, STRIPE_EVENTS, report)
            await simulation.run(uri, services, emulator, counter)
        finally:
            await services.database.client.drop_database(settings.mongodb_database)
    await served.run(uri, counter, report)
    await audit.measure(uri, report)
    await migration.measure(uri, counter, report)
    await reconciliation.run(uri, counter, report)


def main() -> None:
    counter = commands.install()
    emulator_settings = EmulatorSettings(api_key=STRIPE_KEY, processing_delay_seconds=None)
    with secantus_server() as uri, EmulatorServer(emulator_settings) as emulator:
        asyncio.run(run_all(uri, emulator, counter))


if __name__ == "__main__":
    main()
