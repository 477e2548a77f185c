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
class LegacyWalletRecord:
    """What was migrated of a user's legacy wallet."""

    user_id: str
    amount: int
    currency: str
    normalized: bool
    migrated_at: datetime


class MigrationRepository:
    def __init__(self, database: Database) -> None:
        self._records = database[Collections.LEGACY_WALLETS]

    async def get(self, user_id: str) -> LegacyWalletRecord | None:
        document = await self._records.find_one({"_id": user_id})
        return _record(document) if document else None

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
    )
