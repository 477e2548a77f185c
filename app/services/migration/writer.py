"""Writing migrations, the one code path of every way a legacy wallet is migrated: on a user's
first use of the new wallet (one user), by an admin (one user, now) and by the bulk run (a batch).

In the caller's transaction, whatever the number of wallets, a few commands: the ledger entries
(`world:legacy_reserve → buyer:{user}:legacy`, with their postings and balances), the
`legacy_wallets` records, the legacy documents zeroed and marked with what was migrated, and an
audit record per wallet (`legacy_wallet.migrated`, `legacy_wallet.late_migrated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge, MigratedMark
from app.domain.audit import Actor, AuditChange, AuditObject
from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry
from app.domain.migration import (
    LegacyWalletStatus,
    RejectionReason,
    ValidWallet,
    late_migration_entry_key,
    migration_entry_key,
)
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration.repository import (
    LateMigration,
    LateRecord,
    LegacyWalletRecord,
    MigrationRepository,
    NewRecord,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MigrationResult:
    user_id: str
    status: LegacyWalletStatus
    amount: int
    currency: str | None
    # Why the wallet cannot be migrated (status `invalid`).
    reason: RejectionReason | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Opening:
    """A wallet's first migration, or its next after a rollback (`previous`, the rolled-back record)."""

    wallet: LegacyWallet
    valid: ValidWallet
    previous: LegacyWalletRecord | None = None

    @property
    def generation(self) -> int:
        return self.previous.generation + 1 if self.previous else 0

    @property
    def key(self) -> str:
        return migration_entry_key(self.valid.user_id, self.generation)


@dataclass(frozen=True, slots=True)
class LateCredit:
    """Money the legacy system credited to a migrated wallet since its migration."""

    wallet: LegacyWallet
    user_id: str
    amount: int
    currency: str
    record: LegacyWalletRecord

    @property
    def number(self) -> int:
        return len(self.record.late_migrations) + 1

    @property
    def key(self) -> str:
        return late_migration_entry_key(self.user_id, self.number, self.record.generation)


class MigrationWriter:
    def __init__(
        self, ledger: Ledger, bridge: LegacyWalletBridge, records: MigrationRepository, audit: AuditLog
    ) -> None:
        self._ledger = ledger
        self._bridge = bridge
        self._records = records
        self._audit = audit

    async def write(
        self,
        session: AsyncClientSession,
        openings: Sequence[Opening],
        lates: Sequence[LateCredit],
        actor: Actor,
        *,
        run_id: str | None = None,
        fresh: bool = False,
    ) -> list[MigrationResult]:
        """Migrate `openings` and `lates` in the caller's transaction. A wallet migrated meanwhile
        raises DuplicateKeyError (its record or entry), a legacy document changed meanwhile
        LegacyWalletChanged: either aborts the transaction. `fresh`: the openings' users have never
        been migrated (no legacy account yet), which saves reading their balances."""
        now = datetime.now(UTC)
        entries = [
            _opening_entry(opening, run_id) for opening in openings if opening.valid.amount.minor_units
        ]
        entries += [_late_entry(late, run_id) for late in lates]
        new_accounts = [
            (Accounts.buyer_legacy(opening.valid.user_id), opening.valid.currency)
            for opening in openings
            if fresh and opening.previous is None
        ]
        postings = (
            await self._ledger.post_many_in(session, entries, new_accounts=new_accounts) if entries else []
        )
        versions = {posting.account: posting.seq for posting in postings if posting.seq is not None}
        await self._records.write(
            session,
            [NewRecord(_record(opening, run_id, versions, now), opening.previous) for opening in openings],
            [_late_record(late, run_id, versions, now) for late in lates],
        )
        await self._bridge.mark_migrated(
            session,
            [MigratedMark(opening.wallet, opening.valid.amount.minor_units, run_id) for opening in openings],
        )
        await self._bridge.mark_late_migrated(
            session, [MigratedMark(late.wallet, late.amount, run_id) for late in lates]
        )
        await self._audit.record_many(
            session,
            actor,
            [_opening_change(opening, run_id) for opening in openings]
            + [_late_change(late) for late in lates],
        )
        results = [_opening_result(opening) for opening in openings] + [_late_result(late) for late in lates]
        _log(openings, lates, run_id)
        return results


def _opening_entry(opening: Opening, run_id: str | None) -> JournalEntry:
    valid = opening.valid
    move = Move(
        Accounts.LEGACY_RESERVE,
        Accounts.buyer_legacy(valid.user_id),
        valid.amount.minor_units,
        valid.currency,
    )
    refs = {"user": valid.user_id, **({"run": run_id} if run_id else {})}
    return entry(opening.key, EntryKind.MIGRATION, [move], **refs)


def _late_entry(late: LateCredit, run_id: str | None) -> JournalEntry:
    credit = Move(Accounts.LEGACY_RESERVE, Accounts.buyer_legacy(late.user_id), late.amount, late.currency)
    refs = {"user": late.user_id, "late": str(late.number), **({"run": run_id} if run_id else {})}
    return entry(late.key, EntryKind.MIGRATION, [credit], **refs)


def _record(
    opening: Opening, run_id: str | None, versions: dict[str, int], now: datetime
) -> LegacyWalletRecord:
    valid, wallet = opening.valid, opening.wallet
    return LegacyWalletRecord(
        user_id=valid.user_id,
        amount=valid.amount.minor_units,
        currency=valid.currency,
        normalized=valid.amount.normalized,
        migrated_at=now,
        generation=opening.generation,
        run_id=run_id,
        entry_id=opening.key if valid.amount.minor_units else None,
        ledger_version=versions.get(Accounts.buyer_legacy(valid.user_id)),
        legacy_id=wallet.id,
        original_balance=wallet.raw_balance,
        original_document=wallet.document,
    )


def _late_record(late: LateCredit, run_id: str | None, versions: dict[str, int], now: datetime) -> LateRecord:
    return LateRecord(
        late.user_id,
        LateMigration(late.number, late.amount, late.wallet.raw_balance, late.key, now, run_id),
        versions.get(Accounts.buyer_legacy(late.user_id)),
    )


def _opening_change(opening: Opening, run_id: str | None) -> AuditChange:
    valid, wallet = opening.valid, opening.wallet
    after: dict[str, object] = {
        "legacy_balance": "0",
        "migrated": True,
        "migrated_amount": valid.amount.minor_units,
        "normalized": valid.amount.normalized,
    }
    if run_id:
        after["run_id"] = run_id
    if opening.generation:
        after["generation"] = opening.generation
    return AuditChange(
        "legacy_wallet.migrated",
        AuditObject("legacy_wallet", valid.user_id),
        # The legacy balance as the legacy system held it (a decimal, as text: never a float).
        before={"legacy_balance": str(wallet.raw_balance), "currency": valid.currency, "migrated": False},
        after=after,
    )


def _late_change(late: LateCredit) -> AuditChange:
    return AuditChange(
        "legacy_wallet.late_migrated",
        AuditObject("legacy_wallet", late.user_id),
        # What the legacy system credited since the migration (a decimal, as text: never a float).
        before={
            "legacy_balance": str(late.wallet.raw_balance),
            "currency": late.currency,
            "migrated_amount": late.wallet.migrated_minor_units,
        },
        after={
            "legacy_balance": "0",
            "migrated_amount": late.wallet.migrated_minor_units + late.amount,
            "late_migration": late.number,
            "late_amount": late.amount,
            "entry": late.key,
        },
    )


def _opening_result(opening: Opening) -> MigrationResult:
    valid = opening.valid
    return MigrationResult(
        valid.user_id, LegacyWalletStatus.MIGRATED, valid.amount.minor_units, valid.currency
    )


def _late_result(late: LateCredit) -> MigrationResult:
    total = late.wallet.migrated_minor_units + late.amount
    return MigrationResult(late.user_id, LegacyWalletStatus.MIGRATED, total, late.currency)


def _log(openings: Sequence[Opening], lates: Sequence[LateCredit], run_id: str | None) -> None:
    if run_id is not None:
        log.info("legacy_wallets_migrated", run_id=run_id, migrated=len(openings), late_migrated=len(lates))
        return
    for opening in openings:
        log.info(
            "legacy_wallet_migrated",
            migrated_user=opening.valid.user_id,
            amount=opening.valid.amount.minor_units,
            normalized=opening.valid.amount.normalized,
        )
    for late in lates:
        log.warning(
            "legacy_wallet_credited_after_migration",
            migrated_user=late.user_id,
            amount=late.amount,
            late=late.number,
        )
