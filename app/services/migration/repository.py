"""The `legacy_wallets` collection: one record per migrated user, written in the migration's
transaction, which is what makes a migration happen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document

INDEXES: dict[str, list[IndexModel]] = {
    Collections.LEGACY_WALLETS: [IndexModel([("user_id", ASCENDING)], unique=True)],
}


@dataclass(frozen=True, slots=True)
class LateMigration:
    """Money the legacy system credited to the wallet after its migration, migrated in turn."""

    number: int
    amount: int
    original_balance: Any
    entry_id: str
    migrated_at: datetime


@dataclass(frozen=True, slots=True)
class LegacyWalletRecord:
    """What was migrated of a user's legacy wallet: the opening amount, then any late credits."""

    user_id: str
    amount: int
    currency: str
    normalized: bool
    migrated_at: datetime
    late_migrations: tuple[LateMigration, ...] = ()


class MigrationRepository:
    def __init__(self, database: Database) -> None:
        self._records = database[Collections.LEGACY_WALLETS]

    async def get(self, user_id: str, session: AsyncClientSession | None = None) -> LegacyWalletRecord | None:
        document = await self._records.find_one(
            {"_id": user_id}, {"original_document": False}, session=session
        )
        return _record(document) if document else None

    async def add_late(self, session: AsyncClientSession, user_id: str, late: LateMigration) -> None:
        """Append a late migration; it must be the next one (its number follows the last)."""
        earlier: dict[str, Any] = {"late_migrations": {"$size": late.number - 1}}
        if late.number == 1:  # records written before late migrations existed have no list
            earlier = {"$or": [earlier, {"late_migrations": {"$exists": False}}]}
        added = await self._records.update_one(
            {"_id": user_id, **earlier},
            {
                "$push": {
                    "late_migrations": {
                        "number": late.number,
                        "amount": late.amount,
                        "original_balance": late.original_balance,
                        "entry_id": late.entry_id,
                        "migrated_at": late.migrated_at,
                    }
                }
            },
            session=session,
        )
        if added.modified_count != 1:
            raise LookupError(f"the migration record of {user_id} is missing or changed")

    async def insert(
        self,
        session: AsyncClientSession,
        record: LegacyWalletRecord,
        original_balance: Any,
        original_document: Document,
    ) -> None:
        """Record a migration, keeping the legacy document as it was; a second raises DuplicateKeyError."""
        await self._records.insert_one(
            {
                "_id": record.user_id,
                "user_id": record.user_id,
                "amount": record.amount,
                "currency": record.currency,
                "normalized": record.normalized,
                "original_balance": original_balance,
                "original_document": original_document,
                "migrated_at": record.migrated_at,
                "late_migrations": [],
            },
            session=session,
        )


def _record(document: Document) -> LegacyWalletRecord:
    return LegacyWalletRecord(
        user_id=document["user_id"],
        amount=document["amount"],
        currency=document["currency"],
        normalized=document["normalized"],
        migrated_at=document["migrated_at"],
        late_migrations=tuple(LateMigration(**late) for late in document.get("late_migrations", [])),
    )
