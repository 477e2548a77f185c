"""Rolling a run back, for every user whose migrated money is untouched since.

Untouched means: the buyer's legacy account still holds exactly what the run migrated and no
posting has changed it since (its version is the one the migration left), no late credit was
migrated on top, and the legacy document is still as the run left it. For each such user, in
one transaction per page: a reversing entry (`migration:{user}:rollback`, the ledger stays
append-only), the record marked `rolled_back`, the legacy document put back exactly as it was
(every field, of its own type), and an audit record (`legacy_wallet.migration_rolled_back`).
Everyone else is listed, with why (`spent`: the balance is lower; `changed`: anything else), and
left as they are. A second rollback finds nothing left to roll back and changes nothing.

A user rolled back and migrated again later starts a new generation of entry keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge, Restoration
from app.db import Database
from app.domain.audit import Actor, AuditChange, AuditObject
from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry
from app.domain.migration import rollback_entry_key
from app.services.audit import AuditLog
from app.services.ledger import BalanceAfter, Ledger
from app.services.migration.repository import (
    LegacyWalletRecord,
    MigrationRepository,
    RecordStatus,
    RollbackRecord,
)
from app.services.migration.run_repository import RunRepository, RunStatus
from app.services.migration.runs import MigrationInProgress, MigrationRuns

log = structlog.get_logger(__name__)

PAGE = 500


class Left(StrEnum):
    SPENT = "spent"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class LeftUser:
    """A user a rollback leaves migrated, and why."""

    user_id: str
    reason: Left
    migrated: int
    balance: int


@dataclass
class RollbackReport:
    run_id: str
    rolled_back: int = 0
    left: list[LeftUser] = field(default_factory=list)


@dataclass
class PageOutcome:
    rolled_back: int = 0
    left: list[LeftUser] = field(default_factory=list)


class Rollbacks:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        bridge: LegacyWalletBridge,
        audit: AuditLog,
        runs: MigrationRuns,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._bridge = bridge
        self._audit = audit
        self._lease = runs.lease
        self._records = MigrationRepository(database)
        self._runs = RunRepository(database)

    async def rollback(
        self, run_id: str, actor: Actor, *, progress: Callable[[int, int], None] | None = None
    ) -> RollbackReport:
        run = await self._runs.get(run_id)
        if not await self._lease.acquire():
            raise MigrationInProgress("another legacy migration run or rollback holds the lease; retry later")
        try:
            if run.status is RunStatus.RUNNING:
                raise MigrationInProgress(
                    f"migration run {run_id} is running; stop it before rolling it back"
                )
            report = RollbackReport(run_id)
            seen = 0
            async for page in self._records.of_run(run_id, batch_size=PAGE):
                seen += len(page)
                candidates = [record for record in page if record.status is RecordStatus.MIGRATED]
                if candidates:
                    outcome = await self._db.transaction(
                        partial(self._page, run_id=run_id, candidates=candidates, actor=actor)
                    )
                    report.rolled_back += outcome.rolled_back
                    report.left.extend(outcome.left)
                if progress:
                    progress(seen, max(seen, run.tally.counts.get("migrated", 0)))
                if not await self._lease.acquire():
                    raise MigrationInProgress(f"the rollback of {run_id} lost its lease to another runner")
            await self._db.transaction(
                lambda session: self._finish(session, run_id, run.status, report, actor)
            )
        finally:
            await self._lease.release()
        log.info(
            "legacy_migration_rolled_back",
            run_id=run_id,
            rolled_back=report.rolled_back,
            left=len(report.left),
        )
        return report

    async def _page(
        self, session: AsyncClientSession, *, run_id: str, candidates: list[LegacyWalletRecord], actor: Actor
    ) -> PageOutcome:
        records = await self._records.get_many([r.user_id for r in candidates], session, original=True)
        wallets = {w.id: w for w in await self._bridge.read_ids([r.legacy_id for r in candidates], session)}
        accounts = [(Accounts.buyer_legacy(user_id), record.currency) for user_id, record in records.items()]
        balances = await self._ledger.custody_balances(session, accounts)
        outcome, now = PageOutcome(), datetime.now(UTC)
        reversals: list[JournalEntry] = []
        restorations: list[Restoration] = []
        rolled: list[RollbackRecord] = []
        changes: list[AuditChange] = []
        for record in records.values():
            if record.status is not RecordStatus.MIGRATED or record.run_id != run_id:
                continue  # rolled back, or migrated again, meanwhile
            balance = balances.get(
                (Accounts.buyer_legacy(record.user_id), record.currency), BalanceAfter(0, 0)
            )
            wallet = wallets.get(record.legacy_id)
            left = _left(record, wallet, balance)
            if left is not None:
                outcome.left.append(LeftUser(record.user_id, left, record.migrated_total, balance.balance))
                continue
            assert wallet is not None
            assert record.original_document is not None
            reversal = _reversal(record, run_id)
            if reversal is not None:
                reversals.append(reversal)
            restorations.append(Restoration(wallet, record.original_document))
            rolled.append(RollbackRecord(record, run_id, reversal.key if reversal else None, now))
            changes.append(_change(record, run_id))
        if reversals:
            await self._ledger.post_many_in(session, reversals)
        await self._records.mark_rolled_back(session, rolled)
        await self._bridge.restore(session, restorations)
        await self._audit.record_many(session, actor, changes)
        outcome.rolled_back = len(rolled)
        return outcome

    async def _finish(
        self,
        session: AsyncClientSession,
        run_id: str,
        status: RunStatus,
        report: RollbackReport,
        actor: Actor,
    ) -> None:
        now = datetime.now(UTC)
        summary = {"at": now, "rolled_back": report.rolled_back, "left": len(report.left)}
        await self._runs.move(
            session,
            run_id,
            [RunStatus.COMPLETED, RunStatus.INTERRUPTED, RunStatus.ROLLED_BACK],
            RunStatus.ROLLED_BACK,
            now,
            rollback=summary,
        )
        await self._audit.record(
            session,
            actor,
            "legacy_migration.rolled_back",
            AuditObject("legacy_migration_run", run_id),
            before={"status": status.value},
            after={
                "status": RunStatus.ROLLED_BACK.value,
                "rolled_back": report.rolled_back,
                "left": len(report.left),
            },
        )


def _left(record: LegacyWalletRecord, wallet: LegacyWallet | None, balance: BalanceAfter) -> Left | None:
    """Why a user's migration cannot be undone, or None if it is untouched."""
    if balance.balance < record.migrated_total:
        return Left.SPENT
    if record.amount:
        untouched_ledger = balance == BalanceAfter(record.amount, record.ledger_version or -1)
    else:
        untouched_ledger = balance.balance == 0
    untouched_legacy = (
        wallet is not None
        and wallet.migrated
        and wallet.raw_balance == 0
        and wallet.migrated_minor_units == record.amount
        and record.original_document is not None
    )
    if record.late_migrations or not untouched_ledger or not untouched_legacy:
        return Left.CHANGED
    return None


def _reversal(record: LegacyWalletRecord, run_id: str) -> JournalEntry | None:
    if not record.amount:
        return None
    move = Move(
        Accounts.buyer_legacy(record.user_id), Accounts.LEGACY_RESERVE, record.amount, record.currency
    )
    refs = {"user": record.user_id, "run": run_id, "reverses": record.entry_id or ""}
    return entry(rollback_entry_key(record.user_id, record.generation), EntryKind.MIGRATION, [move], **refs)


def _change(record: LegacyWalletRecord, run_id: str) -> AuditChange:
    return AuditChange(
        "legacy_wallet.migration_rolled_back",
        AuditObject("legacy_wallet", record.user_id),
        before={"legacy_balance": "0", "migrated": True, "migrated_amount": record.amount},
        # The legacy balance restored as the legacy system held it (a decimal, as text: never a float).
        after={
            "legacy_balance": str(record.original_balance),
            "migrated": False,
            "run_id": run_id,
            "generation": record.generation,
        },
    )
