"""What auditing costs a money transaction, for the design the service uses and the one it does not.

Each operation is a top-up credit's transaction: a ledger entry to its own buyer wallet, as
`Ledger.post_in` writes it. Three variants, run against the same server:

- raw: the ledger entry alone (the baseline);
- audited, sealed later (the service's design): plus `AuditLog.record`, an unsealed insert; the
  sealer chains the records afterwards, timed on its own;
- audited, chained in the transaction (the design not taken): plus reading the chain's head,
  hashing, inserting the sealed record and moving the head by compare-and-set, so any two
  concurrent operations conflict on the head and one of them runs again.

Concurrent runs spread the operations over several clients (as several processes would be) and
count transaction attempts: every attempt beyond one per operation is a write conflict retried.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from app.container import ensure_indexes
from app.db import Database, connect
from app.domain.audit import EMPTY_CHAIN, Actor, AuditEvent, AuditObject, ChainHead, seal_after, utc_millis
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.audit import AuditLog, AuditSealer
from app.services.ledger import Ledger

Report = Callable[[str, float, str], None]
Audit = Callable[[Database, AsyncClientSession, str], Awaitable[object]]

ROUNDS = 3
SEQUENTIAL = 100
CONCURRENT = 96
CLIENTS = 4
IN_FLIGHT = 32
CHAINED_LOG = "bench_chained_audit_log"
CHAINED_HEAD = "bench_chained_audit_head"


@dataclass(frozen=True)
class Run:
    operations: int
    seconds: float
    attempts: int

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    @property
    def conflicts_per_operation(self) -> float:
        return (self.attempts - self.operations) / self.operations


def topup_audit(topup_id: str) -> tuple[Actor, AuditObject, dict[str, str], dict[str, str]]:
    before = {"status": "requires_payment"}
    after = {"status": "succeeded", "payment_intent_id": f"pi_{topup_id}"}
    return Actor.webhook(f"evt_{topup_id}"), AuditObject("topup", topup_id), before, after


async def no_audit(database: Database, session: AsyncClientSession, topup_id: str) -> None:
    return None


async def unsealed_record(database: Database, session: AsyncClientSession, topup_id: str) -> None:
    actor, subject, before, after = topup_audit(topup_id)
    await AuditLog(database).record(
        session, actor, "topup.status_changed", subject, before=before, after=after
    )


async def chained_record(database: Database, session: AsyncClientSession, topup_id: str) -> None:
    """The design not taken: the record is chained in the caller's transaction."""
    actor, subject, before, after = topup_audit(topup_id)
    event = AuditEvent(
        utc_millis(datetime.now(UTC)), actor, "topup.status_changed", subject, before, after, None
    )
    heads = database[CHAINED_HEAD]
    stored = await heads.find_one({"_id": "head"}, session=session)
    head = ChainHead(stored["seq"], stored["hash"]) if stored else EMPTY_CHAIN
    [seal] = seal_after(head, [event])
    await database[CHAINED_LOG].insert_one(
        {"_id": topup_id, "seq": seal.seq, "prev_hash": seal.prev_hash, "hash": seal.hash}, session=session
    )
    await heads.update_one(
        {"_id": "head", "seq": head.seq},
        {"$set": {"seq": seal.seq, "hash": seal.hash}},
        upsert=head == EMPTY_CHAIN,
        session=session,
    )


async def run(databases: list[Database], operations: int, in_flight: int, audit: Audit, label: str) -> Run:
    attempts = 0
    gate = asyncio.Semaphore(in_flight)

    async def operation(index: int) -> None:
        nonlocal attempts
        database = databases[index % len(databases)]
        topup_id = f"{label}-{index}"

        async def work(session: AsyncClientSession) -> None:
            nonlocal attempts
            attempts += 1
            move = Move(Accounts.CARD, Accounts.buyer_wallet(topup_id), 2000, "usd")
            await Ledger(database).post_in(session, entry(f"topup:{topup_id}", EntryKind.TOPUP, [move]))
            await audit(database, session, topup_id)

        async with gate:
            await database.transaction(work)

    started = time.perf_counter()
    await asyncio.gather(*(operation(index) for index in range(operations)))
    return Run(operations, time.perf_counter() - started, attempts)


async def measure(uri: str, report: Report) -> None:
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    databases = [connect(uri, name) for _ in range(CLIENTS)]
    variants: list[tuple[str, Audit]] = [
        ("raw ledger post", no_audit),
        ("+ audit record, sealed later", unsealed_record),
        ("+ audit record chained in the txn", chained_record),
    ]
    try:
        await ensure_indexes(databases[0])
        for variant, (_, audit) in enumerate(variants):  # every collection exists before timing
            await run(databases, CLIENTS, 1, audit, f"warm-up-v{variant}")
        for concurrency, operations in ((1, SEQUENTIAL), (IN_FLIGHT, CONCURRENT)):
            # Variants take turns, round after round, so a busy machine slows them all alike.
            runs: list[list[Run]] = [[] for _ in variants]
            for round_ in range(ROUNDS):
                for variant, (_, audit) in enumerate(variants):
                    label = f"c{concurrency}r{round_}v{variant}"
                    runs[variant].append(await run(databases, operations, concurrency, audit, label))
            totals = [combined(each) for each in runs]
            for (label, _), total in zip(variants, totals, strict=True):
                report(f"top-up txn, {concurrency} in flight: {label}", total.per_second, "txn/s")
                report("  of the raw ledger post's rate", 100 * total.per_second / totals[0].per_second, "%")
                report("  write conflicts retried", total.conflicts_per_operation, "per txn")
        started = time.perf_counter()
        sealed = await AuditSealer(databases[0], "bench").seal_pending()
        elapsed = time.perf_counter() - started
        report(f"audit sealer, {sealed} records chained", (sealed or 0) / elapsed, "records/s")
    finally:
        await databases[0].client.drop_database(name)
        for database in databases:
            await database.close()


def combined(runs: list[Run]) -> Run:
    return Run(sum(r.operations for r in runs), sum(r.seconds for r in runs), sum(r.attempts for r in runs))
