"""`make bench`: throughput of the money path's building blocks, printed as figures.

Runs against a SecantusDB started for the run (or TEST_MONGODB_URI), never against anything remote.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from app.container import ensure_indexes
from app.db import connect
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.ledger import Ledger
from bench import audit, http
from tests.mongo_server import secantus_server


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


async def concurrent_posts(ledger: Ledger, count: int, accounts: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(
            ledger.post(
                entry(
                    f"conc:{i}",
                    EntryKind.TOPUP,
                    [Move(Accounts.CARD, f"buyer:c{i % accounts}:wallet", 1, "usd")],
                )
            )
            for i in range(count)
        )
    )
    return time.perf_counter() - started


def report(name: str, value: float, unit: str) -> None:
    print(f"{name:<52} {value:>10.1f} {unit}")


async def run(uri: str) -> None:
    database = connect(uri, f"bench_{uuid.uuid4().hex[:8]}")
    await ensure_indexes(database)
    ledger = Ledger(database)
    try:
        latencies = await sequential_posts(ledger, 200)
        report("ledger post, sequential: throughput", len(latencies) / sum(latencies), "entries/s")
        report("ledger post, sequential: p50 latency", statistics.median(latencies) * 1000, "ms")
        report("ledger post, sequential: p95 latency", statistics.quantiles(latencies, n=20)[18] * 1000, "ms")
        elapsed = await concurrent_posts(ledger, 200, accounts=200)
        report("ledger post, 200 concurrent on distinct accounts", 200 / elapsed, "entries/s")
        elapsed = await concurrent_posts_hot(ledger)
        report("ledger post, 50 concurrent on one account", 50 / elapsed, "entries/s")
    finally:
        await database.client.drop_database(database.db.name)
        await database.close()


async def concurrent_posts_hot(ledger: Ledger) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(
            ledger.post(
                entry(f"hot:{i}", EntryKind.TOPUP, [Move(Accounts.CARD, "buyer:hot:wallet", 1, "usd")])
            )
            for i in range(50)
        )
    )
    return time.perf_counter() - started


async def run_all(uri: str) -> None:
    await run(uri)
    await http.run(uri, report)
    await audit.measure(uri, report)


def main() -> None:
    with secantus_server() as uri:
        asyncio.run(run_all(uri))


if __name__ == "__main__":
    main()
