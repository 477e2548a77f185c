"""Moving legacy wallet balances into the ledger, one user at a time, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge, LegacyWalletChanged
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.migration import InvalidLegacyBalance, LegacyAmount, LegacyWalletStatus, migration_entry_key
from app.errors import ServiceError
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration.repository import LegacyWalletRecord, MigrationRepository

log = structlog.get_logger(__name__)


# What `LegacyMigration.migrate_user` can raise, for the routes that call it to declare.
MIGRATION_ERRORS: tuple[type[ServiceError], ...] = (InvalidLegacyBalance, LegacyWalletChanged)


@dataclass(frozen=True, slots=True)
class MigrationResult:
    user_id: str
    status: LegacyWalletStatus
    amount: int
    currency: str | None
    normalized: bool


class LegacyMigration:
    def __init__(
        self, database: Database, ledger: Ledger, bridge: LegacyWalletBridge, audit: AuditLog
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._audit = audit
        self._bridge = bridge
        self._records = MigrationRepository(database)

    async def record(self, user_id: str) -> LegacyWalletRecord | None:
        return await self._records.get(user_id)

    async def legacy_wallet(self, user_id: str) -> LegacyWallet | None:
        """The user's legacy wallet as the legacy system holds it now, migrated or not."""
        return await self._bridge.read(user_id)

    async def migrate_user(self, user_id: str, actor: Actor) -> MigrationResult:
        """Move the user's legacy balance into `buyer:{user}:legacy`; a repeat changes nothing."""
        existing = await self.record(user_id)
        if existing is not None:
            return _result(existing)
        try:
            return await self._db.transaction(lambda session: self._migrate_in(session, user_id, actor))
        except DuplicateKeyError:
            existing = await self.record(user_id)
            if existing is None:
                raise
            return _result(existing)

    async def _migrate_in(self, session: AsyncClientSession, user_id: str, actor: Actor) -> MigrationResult:
        wallet = await self._bridge.read(user_id, session=session)
        if wallet is None:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None, normalized=False)
        amount = wallet.amount()
        record = await self._record_in(session, wallet, amount)
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
        return _result(record)

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


def _result(record: LegacyWalletRecord) -> MigrationResult:
    return MigrationResult(
        user_id=record.user_id,
        status=LegacyWalletStatus.MIGRATED,
        amount=record.amount,
        currency=record.currency,
        normalized=record.normalized,
    )
