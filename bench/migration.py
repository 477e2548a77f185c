"""The bulk legacy migration at rehearsal sizes: wallets per second beside a raw `insert_many` of
as many documents measured in the same run, MongoDB commands per batch, and peak memory.

Each size gets a database of its own, filled by the fixture generator (5 % bad wallets). The
baseline inserts that many legacy-shaped documents with one `insert_many` (the driver splits it
into its own batches): the cheapest way to write that much, not a migration. The goal is at
least 0.25 of it.

Peak memory is the peak of the Python heap (tracemalloc) while the run executes, above where it
started: what the run itself holds. The goal is that 100,000 wallets need at most 30 % more than
20,000, since the run streams the legacy documents with a cursor and keeps one batch at a time.
tracemalloc slows Python code, so the run is timed on one database without it and measured on
another, filled with the same wallets, with it.

A second baseline says what the database itself charges for a migration's writes: per wallet, the
same seven documents the migration writes (its journal entry, two postings, the legacy balance,
the `legacy_wallets` record and the audit record inserted, the legacy document updated by `_id`),
into collections with the same indexes, one transaction per batch, with nothing read, checked or
computed. The migration cannot be faster than that on the same server; its ratio to it is the
part of the time that is ours, and the floor's own ratio to `insert_many` is the best the
migration can reach there. Each document costs at least one plain insert on any server, so
against `insert_many` that ratio is at most 1/7 wherever it runs (README, "Legacy migration and
feature flags").

Where the time goes: the server's time answering the run's writes, reads and commits, as PyMongo
command monitoring timed them, against the run's wall time; the rest is the service's own Python
and the round trips (reads sent together overlap, so the parts may add up to a little more).

The sizes come from BENCH_MIGRATION_SIZES, comma-separated. The issue's sizes are
`BENCH_MIGRATION_SIZES=20000,100000 make bench` (about an hour against SecantusDB on two cores;
`python -m bench.migration` runs this benchmark alone); the default, 2000 and 10000 (the same
ratio of five), keeps `make bench` within minutes.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from pymongo import UpdateOne, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession

from app.container import INDEXES, Services, running_services
from app.db import Collections, Database, Document
from app.domain.audit import Actor
from app.services.migration import DEFAULT_BATCH_SIZE, RunOptions, RunReport
from bench.commands import CommandCounter, CommandTimer, install
from bench.settings import bench_settings
from migrations.make_legacy_fixture import write_fixture
from tests.mongo_server import secantus_server

Report = Callable[[str, float, str], None]

SIZES_VARIABLE = "BENCH_MIGRATION_SIZES"
DEFAULT_SIZES = (2_000, 10_000)
BAD_SHARE = 0.05
ACTOR = Actor.job("bench_migration")
MEBIBYTE = 1024 * 1024
WRITE_COMMANDS = frozenset({"insert", "update", "delete", "bulkWrite", "findAndModify"})


@dataclass(frozen=True)
class SizeFigures:
    wallets: int
    peak_bytes: int


def sizes() -> tuple[int, ...]:
    configured = os.environ.get(SIZES_VARIABLE, "").strip()
    if not configured:
        return DEFAULT_SIZES
    return tuple(int(size) for size in configured.split(",") if size.strip())


async def measure(uri: str, counter: CommandCounter, report: Report) -> None:
    timer = CommandTimer()
    monitoring.register(timer)  # seen by the clients of each size, created after this
    figures = [await measure_size(uri, size, counter, timer, report) for size in sizes()]
    if len(figures) >= 2:
        smallest, largest = figures[0], figures[-1]
        report(
            f"migration peak memory, {largest.wallets:,} / {smallest.wallets:,} wallets (goal <= 130)",
            100 * largest.peak_bytes / smallest.peak_bytes,
            "%",
        )


async def measure_size(
    uri: str, size: int, counter: CommandCounter, timer: CommandTimer, report: Report
) -> SizeFigures:
    async with fixture_services(uri, size) as services:
        raw_seconds = await raw_insert_many(services, size)
        writes_seconds = await raw_migration_writes(services, size)
        timer.clear()
        with counter.counted() as commands:
            started = time.perf_counter()
            check(await services.migration_runs.start(RunOptions(), ACTOR))
            seconds = time.perf_counter() - started
        server = dict(timer.seconds)
    async with fixture_services(uri, size) as services:
        peak = await traced_peak(services)
    rate, raw_rate, writes_rate = size / seconds, size / raw_seconds, size / writes_seconds
    batches = -(-size // DEFAULT_BATCH_SIZE)
    report(f"legacy migration, {size:,} wallets: throughput", rate, "wallets/s")
    report(f"raw insert_many, {size:,} documents: throughput", raw_rate, "docs/s")
    report(f"legacy migration / raw insert_many, {size:,} (goal >= 25)", 100 * rate / raw_rate, "%")
    report(f"raw migration writes (7 docs per wallet), {size:,}: throughput", writes_rate, "wallets/s")
    report(f"legacy migration / raw migration writes, {size:,}", 100 * rate / writes_rate, "%")
    report(f"best possible / raw insert_many, {size:,} (the write floor)", 100 * writes_rate / raw_rate, "%")
    report_time_split(size, seconds, server, report)
    report(
        f"legacy migration, {size:,}: commands per batch of {DEFAULT_BATCH_SIZE}", len(commands) / batches, ""
    )
    report(f"legacy migration, {size:,}: peak Python memory", peak / MEBIBYTE, "MiB")
    by_name = Counter(commands)
    print(
        "  commands of the run: "
        + ", ".join(f"{name} {count}" for name, count in sorted(by_name.items(), key=lambda item: -item[1])),
        flush=True,
    )
    return SizeFigures(size, peak)


def report_time_split(size: int, seconds: float, server: dict[str, float], report: Report) -> None:
    """Where the run's time went: the server's answers to its writes, its reads and its commits
    (as the driver timed them), and the rest (the service's own Python, the round trips)."""
    split = dict.fromkeys(("writes", "commits", "reads"), 0.0)
    for name, spent in server.items():
        split[_kind(name.split(" ", 1)[0])] += spent
    for kind in ("writes", "commits", "reads"):
        report(f"legacy migration, {size:,}: server time in {kind}", 100 * split[kind] / seconds, "% of run")
    rest = seconds - sum(split.values())
    report(f"legacy migration, {size:,}: time outside the server", 100 * rest / seconds, "% of run")
    heaviest = sorted(server.items(), key=lambda item: -item[1])[:8]
    print(
        "  server seconds by command: " + ", ".join(f"{name} {spent:.2f}" for name, spent in heaviest),
        flush=True,
    )


def _kind(command: str) -> str:
    if command in WRITE_COMMANDS:
        return "writes"
    if command in ("commitTransaction", "abortTransaction"):
        return "commits"
    return "reads"


@asynccontextmanager
async def fixture_services(uri: str, size: int) -> AsyncIterator[Services]:
    """The services on a database of their own holding `size` users' legacy wallets."""
    settings = bench_settings(uri, f"bench_migration_{uuid.uuid4().hex[:8]}")
    await write_fixture(settings, wallets=size, bad_share=BAD_SHARE, seed=size)
    async with running_services(settings) as services:
        try:
            yield services
        finally:
            await services.database.client.drop_database(settings.mongodb_database)


async def raw_insert_many(services: Services, size: int) -> float:
    """Seconds to insert `size` legacy-shaped documents with one insert_many (their `_id`s are the
    second baseline's to update)."""
    now = datetime.now(UTC)
    documents: list[Document] = [
        {
            "_id": f"raw-{index}",
            "userId": f"raw-{index}",
            "balance": index / 100,
            "currency": "USD",
            "updatedAt": now,
        }
        for index in range(size)
    ]
    started = time.perf_counter()
    await services.database["bench_raw_wallets"].insert_many(documents)
    return time.perf_counter() - started


# The collections a migration writes, each with its own indexes in the second baseline.
MIGRATION_WRITTEN = (
    Collections.JOURNAL_ENTRIES,
    Collections.LEDGER_POSTINGS,
    Collections.LEDGER_ACCOUNTS,
    Collections.LEGACY_WALLETS,
    Collections.AUDIT_PENDING,
)


async def raw_migration_writes(services: Services, size: int) -> float:
    """Seconds to write what migrating `size` wallets writes, and nothing else: for each batch, in
    one transaction, one insert_many per collection (copies of the real ones, same indexes) and
    one bulk write updating the batch's documents of `raw_insert_many` by `_id`."""
    indexes = {name: models for mapping in INDEXES for name, models in mapping.items()}
    for name in MIGRATION_WRITTEN:
        await services.database.db.create_collection(f"bench_raw_{name}")
        if indexes.get(name):
            await services.database[f"bench_raw_{name}"].create_indexes(list(indexes[name]))
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, size, DEFAULT_BATCH_SIZE):
        batch = range(start, min(start + DEFAULT_BATCH_SIZE, size))
        await services.database.transaction(partial(_write_batch, services.database, batch, now))
    return time.perf_counter() - started


async def _write_batch(database: Database, batch: range, now: datetime, session: AsyncClientSession) -> None:
    documents: dict[str, list[Document]] = {name: [] for name in MIGRATION_WRITTEN}
    for index in batch:
        user, key = f"raw-{index}", f"raw-migration:{index}"
        documents[Collections.JOURNAL_ENTRIES].append(
            {"_id": key, "kind": "migration", "moves": [], "refs": {"user": user}, "created_at": now}
        )
        for account, amount in (("world:legacy_reserve", -index), (f"buyer:{user}:legacy", index)):
            documents[Collections.LEDGER_POSTINGS].append(
                {
                    "_id": f"{key}|{account}|usd",
                    "entry_id": key,
                    "account": account,
                    "currency": "usd",
                    "amount": amount,
                    "seq": 1,
                    "created_at": now,
                }
            )
        documents[Collections.LEDGER_ACCOUNTS].append(
            {"_id": f"buyer:{user}:legacy|usd", "account": f"buyer:{user}:legacy", "currency": "usd"}
        )
        documents[Collections.LEGACY_WALLETS].append({"_id": user, "user_id": user, "run_id": "raw"})
        documents[Collections.AUDIT_PENDING].append({"action": "legacy_wallet.migrated", "object_id": user})
    for name, written in documents.items():
        await database[f"bench_raw_{name}"].insert_many(written, session=session)
    updates = [UpdateOne({"_id": f"raw-{index}"}, {"$set": {"balance": 0}}) for index in batch]
    await database["bench_raw_wallets"].bulk_write(updates, session=session)


async def traced_peak(services: Services) -> int:
    """Bytes the Python heap grew to, at its peak, above where it was, during a run."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        run = await services.migration_runs.start(RunOptions(), ACTOR)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check(run)
    return peak - start


def check(run: RunReport) -> None:
    if not run.ok:
        raise AssertionError(f"the benchmark's migration run {run.run_id} does not reconcile")


def main() -> None:
    """`python -m bench.migration`: this benchmark alone (`make bench` runs it among the others)."""
    from bench.__main__ import report  # the one printer of `make bench`; it imports this module

    counter = install()
    with secantus_server() as uri:
        asyncio.run(measure(uri, counter, report))


if __name__ == "__main__":
    main()
