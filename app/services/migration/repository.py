"""The `legacy_wallets` collection: one record per migrated user, written in the migration's
transaction, which is what makes a migration happen once; and the marketplace's `users`, read to
tell a known user from an orphan wallet.

A record keeps the legacy document exactly as it was (`original_document`), so a rollback can put
it back. A rolled-back record stays (`status: rolled_back`, with its rollbacks listed); migrating
the user again reopens it as the next generation, whose entry keys are new.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import IDS_PER_READ, Collections, Database, Document, duplicates_raised

INDEXES: dict[str, list[IndexModel]] = {
    Collections.LEGACY_WALLETS: [
        IndexModel([("user_id", ASCENDING)], unique=True),
        # A run's records, for its verification and its rollback.
        IndexModel([("run_id", ASCENDING), ("_id", ASCENDING)]),
    ],
}


class RecordStatus(StrEnum):
    MIGRATED = "migrated"
    ROLLED_BACK = "rolled_back"


class RecordChanged(RuntimeError):
    """A record read in the transaction changed before it was written: it must not commit."""


@dataclass(frozen=True, slots=True)
class LateMigration:
    """Money the legacy system credited to the wallet after its migration, migrated in turn."""

    number: int
    amount: int
    original_balance: Any
    entry_id: str
    migrated_at: datetime
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class LegacyWalletRecord:
    """What was migrated of a user's legacy wallet: the opening amount, then any late credits."""

    user_id: str
    amount: int
    currency: str
    normalized: bool
    migrated_at: datetime
    late_migrations: tuple[LateMigration, ...] = ()
    status: RecordStatus = RecordStatus.MIGRATED
    generation: int = 0
    run_id: str | None = None
    entry_id: str | None = None
    # The version of `buyer:{user}:legacy` right after the migration's last posting: unchanged
    # means nobody has touched the migrated money since.
    ledger_version: int | None = None
    legacy_id: Any = None
    original_balance: Any = None
    original_document: Document | None = None

    @property
    def migrated_total(self) -> int:
        return self.amount + sum(late.amount for late in self.late_migrations)


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A migration to record: a first one, or one reopening a rolled-back record (`previous`)."""

    record: LegacyWalletRecord
    previous: LegacyWalletRecord | None = None


@dataclass(frozen=True, slots=True)
class LateRecord:
    user_id: str
    late: LateMigration
    ledger_version: int | None


@dataclass(frozen=True, slots=True)
class RollbackRecord:
    record: LegacyWalletRecord
    run_id: str
    entry_id: str | None
    at: datetime


class MigrationRepository:
    def __init__(self, database: Database) -> None:
        self._records = database[Collections.LEGACY_WALLETS]

    async def get(
        self, user_id: str, session: AsyncClientSession | None = None, *, original: bool = False
    ) -> LegacyWalletRecord | None:
        projection = None if original else {"original_document": False}
        document = await self._records.find_one({"_id": user_id}, projection, session=session)
        return _record(document) if document else None

    async def get_many(
        self, user_ids: Collection[str], session: AsyncClientSession | None = None, *, original: bool = False
    ) -> dict[str, LegacyWalletRecord]:
        ids = sorted(user_ids)
        projection = None if original else {"original_document": False}
        found: dict[str, LegacyWalletRecord] = {}
        for start in range(0, len(ids), IDS_PER_READ):
            query = {"_id": {"$in": ids[start : start + IDS_PER_READ]}}
            async for document in self._records.find(query, projection, session=session):
                found[document["_id"]] = _record(document)
        return found

    async def of_run(self, run_id: str, *, batch_size: int) -> AsyncIterator[list[LegacyWalletRecord]]:
        """The records a run wrote, with the legacy documents as they were, a page at a time.

        One cursor over the run's index, not a query per page (`_id > last`): such a query cost
        the server more the further the page (measured: 0.05 s a page of 500 at 2,000 records,
        0.5 s at 8,000), so reading a large run grew quadratic. Records change status while this
        reads (a rollback) but never move in the index.
        """
        cursor = (
            self._records.find({"run_id": run_id})
            .sort([("run_id", ASCENDING), ("_id", ASCENDING)])
            .batch_size(batch_size)
        )
        page: list[LegacyWalletRecord] = []
        async for document in cursor:
            page.append(_record(document))
            if len(page) == batch_size:
                yield page
                page = []
        if page:
            yield page

    async def write(
        self,
        session: AsyncClientSession,
        new: Sequence[NewRecord],
        late: Sequence[LateRecord] = (),
    ) -> None:
        """Record migrations in one command: new records (a second raises DuplicateKeyError),
        rolled-back ones reopened and late ones appended, each by compare-and-set."""
        inserts = [InsertOne(_document(item.record)) for item in new if item.previous is None]
        updates = [_reopen(item.record, item.previous) for item in new if item.previous is not None]
        updates += [_add_late(item) for item in late]
        await self._bulk(session, [*inserts, *updates], len(updates))

    async def mark_rolled_back(
        self, session: AsyncClientSession, rollbacks: Sequence[RollbackRecord]
    ) -> None:
        updates = [
            UpdateOne(
                {
                    "_id": item.record.user_id,
                    "status": {"$ne": RecordStatus.ROLLED_BACK.value},
                    "generation": {"$in": _generation_forms(item.record.generation)},
                },
                {
                    "$set": {"status": RecordStatus.ROLLED_BACK.value, "rolled_back_at": item.at},
                    "$push": {
                        "rollbacks": {
                            "run_id": item.run_id,
                            "generation": item.record.generation,
                            "amount": item.record.amount,
                            "entry_id": item.entry_id,
                            "at": item.at,
                        }
                    },
                },
            )
            for item in rollbacks
        ]
        await self._bulk(session, updates, len(updates))

    async def _bulk(
        self, session: AsyncClientSession, writes: Sequence[InsertOne[Document] | UpdateOne], updates: int
    ) -> None:
        if not writes:
            return
        with duplicates_raised():
            result = await self._records.bulk_write(list(writes), session=session)
        if result.matched_count != updates:
            raise RecordChanged(f"{updates - result.matched_count} migration records changed meanwhile")


def _generation_forms(generation: int) -> list[int | None]:
    # Records written before generations existed have none: they are the first.
    return [generation, None] if generation == 0 else [generation]


def _document(record: LegacyWalletRecord) -> Document:
    return {
        "_id": record.user_id,
        "user_id": record.user_id,
        "amount": record.amount,
        "currency": record.currency,
        "normalized": record.normalized,
        "original_balance": record.original_balance,
        "original_document": record.original_document,
        "legacy_id": record.legacy_id,
        "migrated_at": record.migrated_at,
        "late_migrations": [],
        "status": record.status.value,
        "generation": record.generation,
        "run_id": record.run_id,
        "entry_id": record.entry_id,
        "ledger_version": record.ledger_version,
    }


def _reopen(record: LegacyWalletRecord, previous: LegacyWalletRecord) -> UpdateOne:
    fields = {key: value for key, value in _document(record).items() if key != "_id"}
    return UpdateOne(
        {
            "_id": record.user_id,
            "status": RecordStatus.ROLLED_BACK.value,
            "generation": {"$in": _generation_forms(previous.generation)},
        },
        {"$set": fields, "$unset": {"rolled_back_at": ""}},
    )


def _add_late(item: LateRecord) -> UpdateOne:
    """Append a late migration; it must be the next one (its number follows the last)."""
    late = item.late
    earlier: dict[str, Any] = {"late_migrations": {"$size": late.number - 1}}
    if late.number == 1:  # records written before late migrations existed have no list
        earlier = {"$or": [earlier, {"late_migrations": {"$exists": False}}]}
    return UpdateOne(
        {"_id": item.user_id, "status": {"$ne": RecordStatus.ROLLED_BACK.value}, **earlier},
        {
            "$push": {
                "late_migrations": {
                    "number": late.number,
                    "amount": late.amount,
                    "original_balance": late.original_balance,
                    "entry_id": late.entry_id,
                    "migrated_at": late.migrated_at,
                    "run_id": late.run_id,
                }
            },
            "$set": {"ledger_version": item.ledger_version},
        },
    )


def _record(document: Document) -> LegacyWalletRecord:
    return LegacyWalletRecord(
        user_id=document["user_id"],
        amount=document["amount"],
        currency=document["currency"],
        normalized=document["normalized"],
        migrated_at=document["migrated_at"],
        late_migrations=tuple(LateMigration(**late) for late in document.get("late_migrations") or []),
        status=RecordStatus(document.get("status") or RecordStatus.MIGRATED),
        generation=document.get("generation") or 0,
        run_id=document.get("run_id"),
        entry_id=document.get("entry_id"),
        ledger_version=document.get("ledger_version"),
        legacy_id=document.get("legacy_id"),
        original_balance=document.get("original_balance"),
        original_document=document.get("original_document"),
    )
