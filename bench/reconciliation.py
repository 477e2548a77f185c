"""Reconciliation at volume: peak memory that does not grow with the number of Stripe objects,
its time and MongoDB commands, beside a raw baseline measured in the same run.

Each size N is N emulated Stripe objects: N/2 paid top-up PaymentIntents and their N/2 charge
balance transactions, seeded through the emulator's seeding control, with the books that match
them (a `topup:{pi}` credit and a `stripe_fee:{txn}` fee per payment, written as the ledger
writes them) inserted directly, so the run finds nothing. The raw baseline reads the same
objects through the same adapter iterators and the same credits a page at a time, and compares
nothing: what any reconciliation must at least cost.

The emulator runs as a process of its own, so `tracemalloc` counts this process alone (the
reconciliation, the SDK and the driver), not the emulator's store. Sizes are
`BENCH_RECONCILIATION_SIZES` (default `1000,5000`: about a minute; `20000,100000` is the issue's
measurement: tens of minutes on two shared cores, most of it under tracemalloc).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.adapters.stripe_adapter import StripeAdapter
from app.container import Services, build_services, ensure_indexes
from app.db import Collections, Database, connect
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.reconciliation import RunTrigger, Window
from app.domain.stripe_fees import stripe_fee_entry
from app.domain.wallet import TOPUP_PURPOSE, topup_entry_key
from app.services.ledger import Ledger
from bench.commands import CommandCounter
from bench.settings import STRIPE_KEY, bench_settings

Report = Callable[[str, float, str], None]
DEFAULT_SIZES = "1000,5000"
SEED_CHUNK = 5_000
TOPUP_AMOUNT = 2_000


@dataclass(frozen=True)
class Measured:
    seconds: float
    commands: int


@asynccontextmanager
async def emulator_process() -> AsyncIterator[str]:
    """The emulator in a process of its own; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {**os.environ, "STRIPE_SECRET_KEY": STRIPE_KEY, "EMULATOR_PROCESSING_DELAY_SECONDS": "none"}
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-m", "stripe_emulator", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{url}/_emulator/config")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the emulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def seed(emulator_url: str, database: Database, payments: int) -> None:
    """`payments` paid top-ups at Stripe, and their credits and fees in the books."""
    async with httpx.AsyncClient(base_url=f"{emulator_url}/_emulator", timeout=120) as control:
        for start in range(0, payments, SEED_CHUNK):
            count = min(SEED_CHUNK, payments - start)
            answer = await control.post(
                "/seed/payment_intents",
                json={"count": count, "amount": TOPUP_AMOUNT, "metadata": {"purpose": TOPUP_PURPOSE}},
            )
            answer.raise_for_status()
            await write_books(database, answer.json()["seeded"])


async def write_books(database: Database, seeded: list[dict[str, Any]]) -> None:
    """The entries and postings the ledger would have written for these payments."""
    now = datetime.now(UTC)
    entries, postings = [], []
    for paid in seeded:
        intent, txn = paid["payment_intent"], paid["balance_transaction"]
        credit = entry(
            topup_entry_key(intent),
            EntryKind.TOPUP,
            [Move(Accounts.CARD, Accounts.buyer_wallet(intent), paid["amount"], paid["currency"])],
            payment_intent=intent,
        )
        fee = stripe_fee_entry(
            txn, paid["fee"], paid["currency"], charge=paid["charge"], payment_intent=intent
        )
        for journal_entry in (credit, fee):
            entries.append(
                {
                    "_id": journal_entry.key,
                    "kind": str(journal_entry.kind),
                    "moves": [move.as_document() for move in journal_entry.moves],
                    "refs": dict(journal_entry.refs),
                    "fingerprint": journal_entry.fingerprint(),
                    "created_at": now,
                }
            )
            for (account, currency), delta in journal_entry.balance_deltas().items():
                postings.append(
                    {
                        "_id": f"{journal_entry.key}|{account}|{currency}",
                        "entry_id": journal_entry.key,
                        "kind": str(journal_entry.kind),
                        "account": account,
                        "currency": currency,
                        "amount": delta,
                        "refs": dict(journal_entry.refs),
                        "created_at": now,
                        "balance_after": None,
                        "seq": None,
                    }
                )
    await database[Collections.JOURNAL_ENTRIES].insert_many(entries, ordered=False)
    await database[Collections.LEDGER_POSTINGS].insert_many(postings, ordered=False)


async def raw_read(provider: StripeAdapter, ledger: Ledger, window: Window) -> int:
    """Read what the reconciliation reads at least, comparing nothing: the PaymentIntents with
    their credits a page at a time, and the balance transactions."""
    read = 0
    page: list[str] = []
    async for intent in provider.iter_payment_intents(window.start, window.end):
        page.append(topup_entry_key(intent.id))
        if len(page) == 100:
            read += len(await ledger.entries(page))
            page = []
    if page:
        read += len(await ledger.entries(page))
    async for _ in provider.iter_balance_transactions(window.start, window.end):
        read += 1
    return read


async def timed(counter: CommandCounter, work: Callable[[], Awaitable[object]]) -> Measured:
    started = time.perf_counter()
    with counter.counted() as commands:
        await work()
    return Measured(time.perf_counter() - started, len(commands))


async def peak_memory(work: Callable[[], Awaitable[object]]) -> int:
    """The most memory `work` held at once, as tracemalloc counts it (this process only). Traced
    code runs several times slower, so time is measured in runs of its own."""
    tracemalloc.start()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def one_size(uri: str, emulator_url: str, objects: int, counter: CommandCounter, report: Report) -> int:
    """Reconcile `objects` Stripe objects (time and commands, then peak memory), and read them
    raw the same way; the reconciliation's peak memory."""
    async with httpx.AsyncClient() as client:
        (await client.post(f"{emulator_url}/_emulator/reset")).raise_for_status()
    settings = bench_settings(uri, f"bench_recon_{uuid.uuid4().hex[:8]}", emulator_url)
    database = connect(uri, settings.mongodb_database)
    provider = StripeAdapter(settings)
    try:
        await ensure_indexes(database)
        await seed(emulator_url, database, objects // 2)
        services: Services = build_services(database, settings, provider)
        now = datetime.now(UTC)
        window = Window(now - timedelta(hours=1), now + timedelta(hours=1))

        async def reconcile() -> None:
            run = await services.reconciliation.run(window, RunTrigger.COMMAND)
            assert run.new_discrepancies == run.known_discrepancies == 0, "the seeded books reconcile"

        def raw() -> Awaitable[int]:
            return raw_read(provider, services.ledger, window)

        recon, baseline = await timed(counter, reconcile), await timed(counter, raw)
        recon_peak, raw_peak = await peak_memory(reconcile), await peak_memory(raw)
        label = f"reconciliation, {objects:,} Stripe objects"
        report(f"{label}: time", recon.seconds, "s")
        report(f"{label}: raw read of both sides, time", baseline.seconds, "s")
        report(f"{label}: time / raw read", recon.seconds / baseline.seconds, "x")
        report(f"{label}: MongoDB commands per 1000 objects", recon.commands * 1000 / objects, "commands")
        report(
            f"{label}: raw read, MongoDB commands per 1000", baseline.commands * 1000 / objects, "commands"
        )
        report(f"{label}: peak memory (tracemalloc)", recon_peak / 1024, "KiB")
        report(f"{label}: raw read, peak memory", raw_peak / 1024, "KiB")
        await figures_commands(services, database, counter, report)
        return recon_peak
    finally:
        await database.client.drop_database(settings.mongodb_database)
        await provider.close()
        await database.close()


async def figures_commands(
    services: Services, database: Database, counter: CommandCounter, report: Report
) -> None:
    """The MongoDB commands and time of the admin overview's figures (also read at each
    `/metrics` scrape: thirteen reads in two concurrent rounds), beside one raw count of the same
    database."""

    def raw_count() -> Awaitable[int]:
        return database[Collections.DISCREPANCIES].count_documents({"status": "open"})

    figures = await counter.per_operation(3, lambda _: services.operations_figures.read())
    raw = await counter.per_operation(3, lambda _: raw_count())
    report("admin overview figures: MongoDB commands", len(figures), "commands")
    report("admin overview figures: raw baseline (one count)", len(raw), "commands")
    read_time = min([(await timed(counter, services.operations_figures.read)).seconds for _ in range(5)])
    raw_time = min([(await timed(counter, raw_count)).seconds for _ in range(5)])
    report("admin overview figures: time (best of 5)", read_time * 1000, "ms")
    report("admin overview figures: raw baseline (one count), time", raw_time * 1000, "ms")


async def run(uri: str, counter: CommandCounter, report: Report) -> None:
    sizes = [int(size) for size in os.environ.get("BENCH_RECONCILIATION_SIZES", DEFAULT_SIZES).split(",")]
    async with emulator_process() as emulator_url:
        peaks = [await one_size(uri, emulator_url, size, counter, report) for size in sizes]
    if len(sizes) > 1:
        growth = f"{sizes[-1] // sizes[0]}x the objects"
        report(
            f"reconciliation peak memory at {sizes[-1]:,} / at {sizes[0]:,} ({growth})",
            peaks[-1] / peaks[0],
            "x",
        )


def main() -> None:
    """This benchmark alone: `python -m bench.reconciliation`."""
    from app.observability import configure_logging
    from bench import commands
    from bench.__main__ import report
    from tests.mongo_server import secantus_server

    configure_logging("ERROR")
    counter = commands.install()
    with secantus_server() as uri:
        asyncio.run(run(uri, counter, report))


if __name__ == "__main__":
    main()
