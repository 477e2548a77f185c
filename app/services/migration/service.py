"""Moving legacy wallet balances into the ledger, one user at a time, exactly once.

The legacy document itself says how a user stands (absent, not migrated, migrated), so one
indexed read of it answers a wallet operation, and none at all once the answer is settled (no
legacy wallet, or migrated with nothing left: `settled.py`); a transaction is opened only when
there is something to migrate.

The legacy system keeps running during the rollout and may still credit a migrated (zeroed)
document, a legacy refund for instance. Such money is migrated too, at the first wallet
operation that sees it (`settled.py` says when), as its own entry keyed by its place among the late credits
(`migration:{user}:late:{n}`), and listed in the user's migration record.

Each migration is audited in its transaction: `legacy_wallet.migrated`, and
`legacy_wallet.late_migrated` for each late one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.migration import (
    InvalidLegacyBalance,
    LegacyAmount,
    LegacyWalletStatus,
    late_migration_entry_key,
    migration_entry_key,
)
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration.repository import LateMigration, LegacyWalletRecord, MigrationRepository
from app.services.migration.settled import SettledAnswers

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MigrationResult:
    user_id: str
    status: LegacyWalletStatus
    amount: int
    currency: str | None


@dataclass(frozen=True, slots=True)
class LegacyState:
    """How a user's legacy wallet stands now; `unmigrated` is what is still only in the legacy
    document (minor units of `currency`)."""

    status: LegacyWalletStatus
    currency: str | None
    unmigrated: int = 0


class LegacyMigration:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        bridge: LegacyWalletBridge,
        audit: AuditLog,
        *,
        recheck: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._audit = audit
        self._bridge = bridge
        self._records = MigrationRepository(database)
        # Users found with nothing to migrate: not looked up again for `recheck` (see settled.py).
        self._settled: SettledAnswers[MigrationResult] = SettledAnswers(recheck, clock)

    async def record(self, user_id: str) -> LegacyWalletRecord | None:
        """What was migrated of the user's legacy wallet, for reports."""
        return await self._records.get(user_id)

    async def legacy_state(self, user_id: str) -> LegacyState:
        """How the user's legacy wallet stands, read without migrating anything."""
        settled = self._settled.get(user_id)
        if settled is not None:
            return LegacyState(settled.status, settled.currency)
        wallet = await self._bridge.lookup(user_id)
        if wallet is None:
            self._settled.remember(user_id, MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None))
            return LegacyState(LegacyWalletStatus.NONE, None)
        if wallet.migrated:
            credited_since = _credited_since(wallet)
            if not credited_since:
                self._settled.remember(user_id, _migrated(wallet))
            return LegacyState(LegacyWalletStatus.MIGRATED, wallet.currency, credited_since)
        try:
            amount = wallet.amount().minor_units
        except InvalidLegacyBalance:
            return LegacyState(LegacyWalletStatus.INVALID, wallet.currency)
        return LegacyState(LegacyWalletStatus.NOT_MIGRATED, wallet.currency, amount)

    async def migrate_user(self, user_id: str, actor: Actor) -> MigrationResult:
        """Move the user's legacy balance into `buyer:{user}:legacy`; a repeat changes nothing."""
        settled = self._settled.get(user_id)
        if settled is not None:
            return settled
        result = await self._migrate(user_id, actor)
        self._settled.remember(user_id, result)  # none, or migrated with nothing left: settled
        return result

    async def _migrate(self, user_id: str, actor: Actor) -> MigrationResult:
        wallet = await self._bridge.lookup(user_id)
        if wallet is None:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None)
        if wallet.migrated and not _credited_since(wallet):
            return _migrated(wallet)
        migrate = self._migrate_late_in if wallet.migrated else self._migrate_in
        try:
            return await self._db.transaction(lambda session: migrate(session, user_id, actor))
        except DuplicateKeyError:
            # Another request migrated the same money between our read and our transaction.
            wallet = await self._bridge.lookup(user_id)
            if wallet is None or not wallet.migrated:
                raise
            return _migrated(wallet)

    async def _migrate_in(self, session: AsyncClientSession, user_id: str, actor: Actor) -> MigrationResult:
        wallet = await self._bridge.read(user_id, session)
        if wallet is None:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None)
        if wallet.migrated:
            return _migrated(wallet)
        amount = wallet.amount()
        await self._record_in(session, wallet, amount)
        if amount.minor_units > 0:
            opening = Move(
                Accounts.LEGACY_RESERVE, Accounts.buyer_legacy(user_id), amount.minor_units, wallet.currency
            )
            await self._ledger.post_in(
                session, entry(migration_entry_key(user_id), EntryKind.MIGRATION, [opening], user=user_id)
            )
        await self._bridge.mark_migrated(session, wallet, amount.minor_units)
        await self._audit.record(
            session,
            actor,
            "legacy_wallet.migrated",
            AuditObject("legacy_wallet", user_id),
            # The legacy balance as the legacy system held it (a decimal, as text: never a float).
            before={
                "legacy_balance": str(wallet.raw_balance),
                "currency": wallet.currency,
                "migrated": False,
            },
            after={
                "legacy_balance": "0",
                "migrated": True,
                "migrated_amount": amount.minor_units,
                "normalized": amount.normalized,
            },
        )
        log.info(
            "legacy_wallet_migrated",
            migrated_user=user_id,
            amount=amount.minor_units,
            normalized=amount.normalized,
        )
        return MigrationResult(user_id, LegacyWalletStatus.MIGRATED, amount.minor_units, wallet.currency)

    async def _migrate_late_in(
        self, session: AsyncClientSession, user_id: str, actor: Actor
    ) -> MigrationResult:
        wallet = await self._bridge.read(user_id, session)
        if wallet is None or not wallet.migrated:
            raise LookupError(f"the migrated legacy wallet of {user_id} is gone")
        amount = _credited_since(wallet)
        if not amount:
            return _migrated(wallet)
        record = await self._records.get(user_id, session)
        if record is None:
            raise LookupError(
                f"the legacy wallet of {user_id} is marked migrated but has no migration record"
            )
        number = len(record.late_migrations) + 1
        key = late_migration_entry_key(user_id, number)
        credit = Move(Accounts.LEGACY_RESERVE, Accounts.buyer_legacy(user_id), amount, wallet.currency)
        await self._ledger.post_in(
            session, entry(key, EntryKind.MIGRATION, [credit], user=user_id, late=str(number))
        )
        late = LateMigration(number, amount, wallet.raw_balance, key, datetime.now(UTC))
        await self._records.add_late(session, user_id, late)
        await self._bridge.mark_late_migrated(session, wallet, amount)
        migrated = wallet.migrated_minor_units + amount
        await self._audit.record(
            session,
            actor,
            "legacy_wallet.late_migrated",
            AuditObject("legacy_wallet", user_id),
            # What the legacy system credited since the migration (a decimal, as text: never a float).
            before={
                "legacy_balance": str(wallet.raw_balance),
                "currency": wallet.currency,
                "migrated_amount": wallet.migrated_minor_units,
            },
            after={
                "legacy_balance": "0",
                "migrated_amount": migrated,
                "late_migration": number,
                "late_amount": amount,
                "entry": key,
            },
        )
        log.warning(
            "legacy_wallet_credited_after_migration", migrated_user=user_id, amount=amount, late=number
        )
        return MigrationResult(user_id, LegacyWalletStatus.MIGRATED, migrated, wallet.currency)

    async def _record_in(
        self, session: AsyncClientSession, wallet: LegacyWallet, amount: LegacyAmount
    ) -> LegacyWalletRecord:
        record = LegacyWalletRecord(
            user_id=wallet.user_id,
            amount=amount.minor_units,
            currency=wallet.currency,
            normalized=amount.normalized,
            migrated_at=datetime.now(UTC),
        )
        await self._records.insert(session, record, wallet.raw_balance, wallet.document)
        return record


def _credited_since(wallet: LegacyWallet) -> int:
    """What the legacy system credited to a migrated wallet since (minor units); 0 if nothing,
    or if the amount cannot be represented (an operator must look: it is logged)."""
    try:
        return wallet.amount().minor_units
    except InvalidLegacyBalance as exc:
        log.error("legacy_wallet_credit_unreadable", migrated_user=wallet.user_id, detail=exc.detail)
        return 0


def _migrated(wallet: LegacyWallet) -> MigrationResult:
    return MigrationResult(
        wallet.user_id, LegacyWalletStatus.MIGRATED, wallet.migrated_minor_units, wallet.currency
    )
