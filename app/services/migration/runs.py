"""The bulk migration of every legacy wallet: dry runs, runs, their resumption, and their reports.

A run first takes a snapshot of the legacy data (count, exact total per currency, checksum of
every (user, amount)), then streams the legacy documents in `_id` order with a cursor (memory
does not grow with their number) and migrates them a batch at a time: each batch is one
transaction, written by `MigrationWriter` (the lazy path's code) in a few commands, with the
batch's record (its tally, its rejections, the last `_id`) and the run's progress. A run killed
anywhere resumes after its last committed batch (`resume`); as every write is keyed (records by
user, entries by key, legacy documents by compare-and-set), nothing is migrated twice either way.

Each wallet is judged by `validate_legacy_wallet`, the lazy path's rules. Users already migrated
one by one are counted, not migrated again; money the legacy system credited to them since is
migrated as a late credit, as the lazy path does. A batch that meets a wallet migrated or changed
meanwhile (by the lazy path, or the legacy system) is read again and written again.

One run, or rollback, at a time (the `legacy_migration` lease). A dry run writes nothing at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge, LegacyWalletChanged
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.migration import (
    CurrencyReconciliation,
    InvalidLegacyBalance,
    Outcome,
    Snapshot,
    Tally,
    legacy_currency,
    reconcile,
    to_minor_units,
    typed_text,
    validate_legacy_wallet,
)
from app.errors import ServiceError
from app.services.audit import AuditLog
from app.services.jobs import Lease
from app.services.ledger import BalanceMoved, Ledger
from app.services.migration.integrity import IntegrityCheck, IntegrityChecker
from app.services.migration.repository import (
    LegacyWalletRecord,
    MigrationRepository,
    RecordChanged,
    RecordStatus,
)
from app.services.migration.run_repository import (
    Checkpoint,
    MigrationRun,
    Rejection,
    RejectionPage,
    RunPage,
    RunRepository,
    RunStatus,
    new_run_id,
)
from app.services.migration.writer import LateCredit, MigrationWriter, Opening

log = structlog.get_logger(__name__)

MIGRATION_JOB = "legacy_migration"
# Wallets per transaction. Each batch costs a dozen commands besides its writes (lease, cursor,
# run progress, commit): 1,000 halves them against 500 (`bench/migration.py`); memory stays that
# of one batch.
DEFAULT_BATCH_SIZE = 1000
MAX_ONLY_USERS = 100_000
# A batch that keeps meeting concurrent changes fails the run (resumable) rather than spin.
BATCH_ATTEMPTS = 3
# A batch conflicts with a wallet migrated or changed meanwhile: read it again, write it again.
CONFLICTS = (DuplicateKeyError, LegacyWalletChanged, BalanceMoved, RecordChanged)

Progress = Callable[[int, int], None]
RejectionSink = Callable[[Rejection], None]


class MigrationInProgress(ServiceError):
    code = "migration_in_progress"
    status = 409
    title = "Another legacy migration run or rollback is in progress"


class RunNotResumable(ServiceError):
    code = "migration_run_not_resumable"
    status = 409
    title = "The migration run cannot be resumed"


@dataclass(frozen=True, slots=True)
class RunOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    only_users: frozenset[str] | None = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("the batch size is from 1 to 10,000")
        if self.only_users is not None and len(self.only_users) > MAX_ONLY_USERS:
            raise ValueError(f"--only-users lists at most {MAX_ONLY_USERS} users; run without it")


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a run (or a dry run: `run_id` None) found and did, and whether the sums meet."""

    run_id: str | None
    status: str
    snapshot: Snapshot
    tally: Tally
    reconciliation: list[CurrencyReconciliation]
    integrity: list[IntegrityCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(currency.holds for currency in self.reconciliation) and all(c.ok for c in self.integrity)


@dataclass
class BatchPlan:
    """What a batch will do, decided from what was read."""

    openings: list[Opening] = field(default_factory=list)
    lates: list[LateCredit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)


class MigrationRuns:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        bridge: LegacyWalletBridge,
        audit: AuditLog,
        *,
        platform_currency: str,
        owner: str,
        lease_ttl: timedelta = timedelta(minutes=2),
    ) -> None:
        self._db = database
        self._bridge = bridge
        self._audit = audit
        self._currency = platform_currency
        self._records = MigrationRepository(database)
        self._runs = RunRepository(database)
        self._writer = MigrationWriter(ledger, bridge, self._records, audit)
        self._integrity = IntegrityChecker(ledger, bridge, self._records, platform_currency)
        self.lease = Lease(database, MIGRATION_JOB, owner, lease_ttl)

    # Reading runs

    async def get(self, run_id: str) -> MigrationRun:
        return await self._runs.get(run_id)

    async def latest(self) -> MigrationRun | None:
        """The newest run, whatever its status (run ids sort by their start)."""
        return await self._runs.latest()

    async def page(self, limit: int, starting_after: str | None) -> RunPage:
        return await self._runs.page(limit, starting_after)

    async def rejections(self, run_id: str, limit: int, starting_after: str | None) -> RejectionPage:
        await self._runs.get(run_id)
        return await self._runs.rejections(run_id, limit, starting_after)

    def all_rejections(self, run_id: str) -> AsyncIterator[Rejection]:
        return self._runs.all_rejections(run_id)

    async def verify(self, run_id: str) -> RunReport:
        """The integrity checks of a run, against the ledger and the legacy data as they are now."""
        run = await self._runs.get(run_id)
        tally = run.tally if run.status is not RunStatus.RUNNING else (await self._runs.tally(run_id))[0]
        checks = await self._integrity.check(run, tally)
        return RunReport(
            run.id, run.status.value, run.snapshot, tally, reconcile(run.snapshot, tally), checks
        )

    # Running

    async def start(
        self,
        options: RunOptions,
        actor: Actor,
        *,
        progress: Progress | None = None,
        on_rejection: RejectionSink | None = None,
    ) -> RunReport:
        """A dry run (validate and report, writing nothing), or a run to the end."""
        users = options.only_users
        snapshot = await self.snapshot(users)
        if options.dry_run:
            tally = await self._process(
                None, options.batch_size, users, snapshot, actor, progress, on_rejection
            )
            return RunReport(None, "dry_run", snapshot, tally, reconcile(snapshot, tally))
        await self._take_lease()
        now = datetime.now(UTC)
        run = MigrationRun(
            id=new_run_id(now),
            status=RunStatus.RUNNING,
            actor=actor.id,
            started_at=now,
            updated_at=now,
            batch_size=options.batch_size,
            snapshot=snapshot,
            users=tuple(sorted(users)) if users is not None else None,
        )
        await self._db.transaction(lambda session: self._create(session, run, actor))
        log.info("legacy_migration_started", run_id=run.id, wallets=snapshot.count)
        return await self._run_to_end(run, actor, progress, on_rejection)

    async def resume(
        self,
        run_id: str,
        actor: Actor,
        *,
        progress: Progress | None = None,
        on_rejection: RejectionSink | None = None,
    ) -> RunReport:
        """Continue a run that stopped (killed, or failed) after its last committed batch."""
        await self._take_lease()
        run = await self._runs.get(run_id)
        if run.status not in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
            await self.lease.release()
            raise RunNotResumable(f"migration run {run_id} is {run.status}; only an unfinished run resumes")
        await self._db.transaction(lambda session: self._resumed(session, run, actor))
        log.info("legacy_migration_resumed", run_id=run.id)
        return await self._run_to_end(run, actor, progress, on_rejection)

    async def snapshot(self, users: Collection[str] | None) -> Snapshot:
        """The legacy data as it is now: count, exact totals per currency, checksum."""
        snapshot = Snapshot()
        async for wallet in self._bridge.stream():
            if users is None or wallet.user_id in users:
                snapshot.add(wallet.raw_user_id, wallet.raw_balance, wallet.raw_currency)
        return snapshot

    async def _take_lease(self) -> None:
        if not await self.lease.acquire():
            raise MigrationInProgress("another legacy migration run or rollback holds the lease; retry later")

    async def _create(self, session: AsyncClientSession, run: MigrationRun, actor: Actor) -> None:
        await self._runs.create(session, run)
        await self._audit.record(
            session,
            actor,
            "legacy_migration.started",
            AuditObject("legacy_migration_run", run.id),
            before=None,
            after={
                "status": run.status.value,
                "batch_size": run.batch_size,
                "only_users": len(run.users) if run.users is not None else None,
                "snapshot": run.snapshot.as_document(),
            },
        )

    async def _resumed(self, session: AsyncClientSession, run: MigrationRun, actor: Actor) -> None:
        now = datetime.now(UTC)
        await self._runs.move(
            session, run.id, [RunStatus.RUNNING, RunStatus.INTERRUPTED], RunStatus.RUNNING, now
        )
        await self._audit.record(
            session,
            actor,
            "legacy_migration.resumed",
            AuditObject("legacy_migration_run", run.id),
            before={"status": run.status.value},
            after={"status": RunStatus.RUNNING.value},
        )

    async def _run_to_end(
        self, run: MigrationRun, actor: Actor, progress: Progress | None, on_rejection: RejectionSink | None
    ) -> RunReport:
        users = frozenset(run.users) if run.users is not None else None
        try:
            await self._process(run, run.batch_size, users, run.snapshot, actor, progress, on_rejection)
        except BaseException:
            # Killed outright, a run stays `running`; either way `resume` continues it.
            await self._runs.move(None, run.id, [RunStatus.RUNNING], RunStatus.INTERRUPTED, datetime.now(UTC))
            log.exception("legacy_migration_interrupted", run_id=run.id)
            raise
        finally:
            await self.lease.release()
        return await self._complete(run, actor)

    async def _complete(self, run: MigrationRun, actor: Actor) -> RunReport:
        tally, batches = await self._runs.tally(run.id)
        checks = await self._integrity.check(run, tally)
        report = RunReport(
            run.id, RunStatus.COMPLETED.value, run.snapshot, tally, reconcile(run.snapshot, tally), checks
        )

        async def complete(session: AsyncClientSession) -> None:
            now = datetime.now(UTC)
            await self._runs.move(
                session,
                run.id,
                [RunStatus.RUNNING],
                RunStatus.COMPLETED,
                now,
                finished_at=now,
                tally=tally.as_document(),
                integrity_ok=report.ok,
                integrity=[check.as_document() for check in checks],
            )
            await self._audit.record(
                session,
                actor,
                "legacy_migration.completed",
                AuditObject("legacy_migration_run", run.id),
                before={"status": RunStatus.RUNNING.value},
                after={
                    "status": RunStatus.COMPLETED.value,
                    "batches": batches,
                    "counts": dict(sorted(tally.counts.items())),
                    "integrity_ok": report.ok,
                },
            )

        await self._db.transaction(complete)
        log.info("legacy_migration_completed", run_id=run.id, ok=report.ok, **dict(tally.counts))
        return report

    async def _process(
        self,
        run: MigrationRun | None,
        batch_size: int,
        users: frozenset[str] | None,
        snapshot: Snapshot,
        actor: Actor,
        progress: Progress | None,
        on_rejection: RejectionSink | None,
    ) -> Tally:
        """Every wallet in scope after the run's checkpoint, a batch at a time; the total tally
        of the batches done here."""
        checkpoint = await self._runs.checkpoint(run.id) if run is not None else None
        done = sum(run.progress.get(outcome.value, 0) for outcome in Outcome) if run is not None else 0
        duplicated = await self._bridge.duplicated_users()
        seq = checkpoint.seq if checkpoint else 0
        total, batch = Tally(), list[LegacyWallet]()
        async for wallet in self._bridge.stream(
            after=checkpoint.last_id if checkpoint else None, batch_size=batch_size
        ):
            if users is not None and wallet.user_id not in users:
                continue
            batch.append(wallet)
            if len(batch) < batch_size:
                continue
            seq += 1
            total.merge(await self._batch(run, seq, batch, duplicated, actor, on_rejection))
            done += len(batch)
            batch = []
            if progress:
                progress(done, snapshot.count)
        if batch:
            total.merge(await self._batch(run, seq + 1, batch, duplicated, actor, on_rejection))
            if progress:
                progress(done + len(batch), snapshot.count)
        return total

    async def _batch(
        self,
        run: MigrationRun | None,
        seq: int,
        wallets: list[LegacyWallet],
        duplicated: set[str],
        actor: Actor,
        on_rejection: RejectionSink | None,
    ) -> Tally:
        checkpoint = Checkpoint(seq, wallets[-1].id)
        careful = False
        for _ in range(BATCH_ATTEMPTS):
            plan = await self._plan(wallets, duplicated, careful=careful)
            if run is None:
                break
            if not await self.lease.acquire():
                raise MigrationInProgress(f"migration run {run.id} lost its lease to another runner")
            try:
                await self._db.transaction(
                    partial(
                        self._write, run=run, checkpoint=checkpoint, plan=plan, actor=actor, careful=careful
                    )
                )
                break
            except CONFLICTS as exc:
                log.warning("legacy_migration_batch_conflict", run_id=run.id, batch=seq, error=str(exc))
                careful = True
                wallets = await self._bridge.read_ids([wallet.id for wallet in wallets])
        else:
            raise RuntimeError(f"batch {seq} kept meeting concurrent changes; resume the run later")
        for rejection in plan.rejections:
            if on_rejection:
                on_rejection(rejection)
        return plan.tally

    async def _write(
        self,
        session: AsyncClientSession,
        *,
        run: MigrationRun,
        checkpoint: Checkpoint,
        plan: BatchPlan,
        actor: Actor,
        careful: bool,
    ) -> None:
        await self._writer.write(session, plan.openings, plan.lates, actor, run_id=run.id, fresh=not careful)
        await self._runs.add_batch(
            session, run.id, checkpoint, plan.tally, plan.rejections, datetime.now(UTC)
        )

    async def _plan(self, wallets: list[LegacyWallet], duplicated: set[str], *, careful: bool) -> BatchPlan:
        """Judge each wallet of a batch. Records are read for late credits; `careful` (after a
        conflict) reads every user's, to reopen rolled-back ones and skip none it should not."""
        user_ids = {wallet.user_id for wallet in wallets if wallet.user_id is not None}
        needed = user_ids if careful else {w.user_id for w in wallets if w.migrated and w.user_id is not None}
        # Two independent reads, sent together: the server answers one while the other is decoded.
        known, records = await asyncio.gather(
            self._bridge.known_users(user_ids), self._records.get_many(needed)
        )
        plan = BatchPlan()
        for wallet in wallets:
            user_id = wallet.user_id
            if wallet.migrated and user_id is not None and user_id not in duplicated:
                self._plan_migrated(plan, wallet, user_id, records.get(user_id))
            else:
                self._plan_unmigrated(plan, wallet, duplicated, known, records)
        return plan

    def _plan_migrated(
        self, plan: BatchPlan, wallet: LegacyWallet, user_id: str, record: LegacyWalletRecord | None
    ) -> None:
        """A wallet migrated before: counted, and what the legacy system credited since migrated."""
        try:
            credited = to_minor_units(
                wallet.raw_balance, legacy_currency(wallet.raw_currency, self._currency)
            )
        except InvalidLegacyBalance as exc:
            plan.rejections.append(_rejection(wallet, exc))
            plan.tally.add(Outcome.REJECTED, wallet.raw_balance, wallet.raw_currency, reason=exc.reason)
            return
        if not credited.minor_units:
            plan.tally.add(Outcome.ALREADY_MIGRATED, wallet.raw_balance, wallet.raw_currency)
            return
        if record is None or record.status is RecordStatus.ROLLED_BACK:
            raise LookupError(
                f"the legacy wallet of {user_id} is marked migrated but has no migration record"
            )
        plan.lates.append(LateCredit(wallet, user_id, credited.minor_units, record.currency, record))
        plan.tally.add(
            Outcome.LATE_MIGRATED, wallet.raw_balance, wallet.raw_currency, normalized=credited.normalized
        )

    def _plan_unmigrated(
        self,
        plan: BatchPlan,
        wallet: LegacyWallet,
        duplicated: set[str],
        known: set[str],
        records: dict[str, LegacyWalletRecord],
    ) -> None:
        user_id = wallet.user_id
        facts = wallet.facts(copies=2 if user_id in duplicated else 1, user_known=user_id in known)
        try:
            valid = validate_legacy_wallet(facts, self._currency)
        except InvalidLegacyBalance as exc:
            plan.rejections.append(_rejection(wallet, exc))
            plan.tally.add(Outcome.REJECTED, wallet.raw_balance, wallet.raw_currency, reason=exc.reason)
            return
        previous = records.get(valid.user_id)
        if previous is not None and previous.status is not RecordStatus.ROLLED_BACK:
            raise LookupError(f"{valid.user_id} has a migration record but an unmigrated legacy wallet")
        plan.openings.append(Opening(wallet, valid, previous))
        plan.tally.add(
            Outcome.MIGRATED,
            wallet.raw_balance,
            wallet.raw_currency,
            posted=valid.amount.minor_units,
            normalized=valid.amount.normalized,
        )


def _rejection(wallet: LegacyWallet, problem: InvalidLegacyBalance) -> Rejection:
    return Rejection(
        legacy_id=str(wallet.id),
        user_id=wallet.user_id,
        raw_user_id=typed_text(wallet.raw_user_id),
        reason=problem.reason,
        detail=problem.detail,
        balance=typed_text(wallet.raw_balance),
        currency=typed_text(wallet.raw_currency),
    )
