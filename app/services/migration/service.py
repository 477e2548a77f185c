"""Moving legacy wallet balances into the ledger, one user at a time, exactly once.

The legacy document itself says how a user stands (absent, not migrated, migrated), so one
indexed read of it answers every wallet operation; a transaction is opened only when there is
something to migrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge
from app.db import Database
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.migration import InvalidLegacyBalance, LegacyAmount, LegacyWalletStatus, migration_entry_key
from app.services.ledger import Ledger
from app.services.migration.repository import LegacyWalletRecord, MigrationRepository

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
    def __init__(self, database: Database, ledger: Ledger, bridge: LegacyWalletBridge) -> None:
        self._db = database
        self._ledger = ledger
        self._bridge = bridge
        self._records = MigrationRepository(database)

    async def record(self, user_id: str) -> LegacyWalletRecord | None:
        """What was migrated of the user's legacy wallet, for reports."""
        return await self._records.get(user_id)

    async def legacy_state(self, user_id: str) -> LegacyState:
        """How the user's legacy wallet stands, read without migrating anything."""
        wallet = await self._bridge.lookup(user_id)
        if wallet is None:
            return LegacyState(LegacyWalletStatus.NONE, None)
        if wallet.migrated:
            return LegacyState(LegacyWalletStatus.MIGRATED, wallet.currency)
        try:
            amount = wallet.amount().minor_units
        except InvalidLegacyBalance:
            return LegacyState(LegacyWalletStatus.INVALID, wallet.currency)
        return LegacyState(LegacyWalletStatus.NOT_MIGRATED, wallet.currency, amount)

    async def migrate_user(self, user_id: str) -> MigrationResult:
        """Move the user's legacy balance into `buyer:{user}:legacy`; a repeat changes nothing."""
        wallet = await self._bridge.lookup(user_id)
        if wallet is None:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None)
        if wallet.migrated:
            return _migrated(wallet)
        try:
            return await self._db.transaction(lambda session: self._migrate_in(session, user_id))
        except DuplicateKeyError:
            # Another request migrated the user between our read and our transaction.
            wallet = await self._bridge.lookup(user_id)
            if wallet is None or not wallet.migrated:
                raise
            return _migrated(wallet)

    async def _migrate_in(self, session: AsyncClientSession, user_id: str) -> MigrationResult:
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
        log.info(
            "legacy_wallet_migrated",
            migrated_user=user_id,
            amount=amount.minor_units,
            normalized=amount.normalized,
        )
        return MigrationResult(user_id, LegacyWalletStatus.MIGRATED, amount.minor_units, wallet.currency)

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


def _migrated(wallet: LegacyWallet) -> MigrationResult:
    return MigrationResult(
        wallet.user_id, LegacyWalletStatus.MIGRATED, wallet.migrated_minor_units, wallet.currency
    )
