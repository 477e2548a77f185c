"""The only code that touches the legacy system's wallets.

Legacy documents live in the marketplace's MongoDB (`wallets` by default), one per user:
`{userId, balance, currency, updatedAt}` with `balance` a decimal amount in major units, `userId`
a string or an ObjectId. Once a user is migrated, the document keeps the migrated amount and its
balance is zero, so the legacy system can no longer spend money that now lives in the ledger:
`{balance: 0, migrated: true, migratedAmount, migratedMinorUnits, migratedAt}`, and
`migrationRunId` when a bulk run migrated it (`lateMigratedAmount`, `lateMigrationRunId` for the
last credit migrated after that). A rollback puts the document back exactly as it
was, field types included.

Every wallet operation looks its user up by `userId`. When no index leads with `userId`, the
service creates one, `payments_service_userId`, if `LEGACY_WALLET_INDEX` is true (the default):
the service owns that index, and the legacy system must leave it in place. With the setting
false, someone else must provide an index on `userId`; start-up warns when none exists.

Writes to many documents go as one command per batch (`bulk_write`), each a compare-and-set on
what was read: a document the legacy system changed meanwhile fails the batch
(`LegacyWalletChanged`), whose transaction is then retried from a fresh read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import ASCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from app.adapters.marketplace_users import MarketplaceUsers
from app.config import Settings
from app.db import IDS_PER_READ, Database, Document
from app.domain.migration import WalletFacts, legacy_user_id, user_id_forms
from app.errors import ServiceError

log = structlog.get_logger(__name__)

USER_INDEX = "payments_service_userId"
# What a lookup needs to tell how the wallet stands; the whole document is read only to migrate it.
_STATE_FIELDS = {
    "userId": True,
    "balance": True,
    "currency": True,
    "migrated": True,
    "migratedMinorUnits": True,
    "migrationRunId": True,
}


class LegacyWalletChanged(ServiceError):
    code = "legacy_wallet_changed"
    status = 409
    title = "The legacy wallet changed during migration"


@dataclass(frozen=True, slots=True)
class LegacyWallet:
    """One legacy document as read: its raw values, and what a migration left on it."""

    id: Any
    raw_user_id: Any
    raw_balance: Any
    raw_currency: Any
    migrated: bool
    # What the migrations moved into the ledger (minor units); zero until the user is migrated.
    migrated_minor_units: int
    run_id: str | None
    document: Document

    @property
    def user_id(self) -> str | None:
        return legacy_user_id(self.raw_user_id)

    def facts(self, *, copies: int = 1, user_known: bool = True) -> WalletFacts:
        return WalletFacts(self.raw_user_id, self.raw_balance, self.raw_currency, copies, user_known)


@dataclass(frozen=True, slots=True)
class MigratedMark:
    """What a migration writes on a legacy document: its balance moved, the document zeroed."""

    wallet: LegacyWallet
    minor_units: int
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Restoration:
    """A migrated document put back as it was before its migration."""

    wallet: LegacyWallet
    original: Document


class LegacyWalletBridge:
    def __init__(self, database: Database, settings: Settings) -> None:
        legacy_db = database.client[settings.legacy_wallet_database or settings.mongodb_database]
        self._wallets: AsyncCollection[Document] = legacy_db[settings.legacy_wallet_collection]
        self._users = MarketplaceUsers(database, settings)

    async def known_users(self, user_ids: Collection[str]) -> set[str]:
        """Which of these legacy wallets' users the marketplace knows (its `users`)."""
        return await self._users.known(user_ids)

    async def ensure_user_index(self, *, create: bool) -> None:
        """Make sure lookups by `userId` are indexed: an index that leads with it is enough,
        whoever made it; otherwise create the service's own (when `create`), or warn."""
        indexes = await self._wallets.index_information()
        if any(spec["key"][0][0] == "userId" for spec in indexes.values()):
            return
        if create:
            await self._wallets.create_index([("userId", ASCENDING)], name=USER_INDEX)
        else:
            log.warning("legacy_wallets_unindexed", detail="every wallet lookup scans the legacy collection")

    async def lookup(self, user_id: str) -> list[LegacyWallet]:
        """How the user's legacy wallet stands now: one indexed read of the fields that say it.
        Two documents mean the user has duplicates (more are not read)."""
        cursor = self._wallets.find(_of_user(user_id), _STATE_FIELDS).limit(2)
        return [_wallet(document) async for document in cursor]

    async def read(self, user_id: str, session: AsyncClientSession) -> list[LegacyWallet]:
        """The whole legacy documents of the user (two at most), inside a migration's transaction."""
        cursor = self._wallets.find(_of_user(user_id), session=session).limit(2)
        return [_wallet(document) async for document in cursor]

    async def read_ids(
        self, ids: Sequence[Any], session: AsyncClientSession | None = None
    ) -> list[LegacyWallet]:
        """The documents with these `_id`s (in no particular order)."""
        found: list[LegacyWallet] = []
        for start in range(0, len(ids), IDS_PER_READ):
            query = {"_id": {"$in": list(ids[start : start + IDS_PER_READ])}}
            found.extend([_wallet(document) async for document in self._wallets.find(query, session=session)])
        return found

    async def stream(self, *, after: Any = None, batch_size: int = 500) -> AsyncIterator[LegacyWallet]:
        """Every legacy document in `_id` order, after `after`: a cursor, so memory does not grow
        with the collection."""
        query: dict[str, Any] = {} if after is None else {"_id": {"$gt": after}}
        cursor = self._wallets.find(query, batch_size=batch_size).sort("_id", ASCENDING)
        async for document in cursor:
            yield _wallet(document)

    async def duplicated_users(self) -> set[str]:
        """The users named by more than one legacy document, whatever type each id is stored as.
        Grouped by the database; only the duplicates come back."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"userId": {"$type": ["string", "objectId"]}}},
            {"$group": {"_id": {"$toString": "$userId"}, "copies": {"$sum": 1}}},
            {"$match": {"copies": {"$gt": 1}}},
        ]
        return {row["_id"] async for row in await self._wallets.aggregate(pipeline)}

    async def mark_migrated(self, session: AsyncClientSession, marks: Sequence[MigratedMark]) -> None:
        """Zero each legacy balance, keeping what was migrated; refuses if any changed since read."""
        now = datetime.now(UTC)
        await self._write_all(
            session,
            [
                UpdateOne(
                    {"_id": mark.wallet.id, "balance": mark.wallet.raw_balance, "migrated": {"$ne": True}},
                    {
                        "$set": {
                            "balance": 0,
                            "migrated": True,
                            "migratedAmount": mark.wallet.raw_balance,
                            "migratedMinorUnits": mark.minor_units,
                            "migratedAt": now,
                            "updatedAt": now,
                            **({"migrationRunId": mark.run_id} if mark.run_id else {}),
                        }
                    },
                )
                for mark in marks
            ],
        )

    async def mark_late_migrated(self, session: AsyncClientSession, marks: Sequence[MigratedMark]) -> None:
        """Zero again migrated wallets the legacy system credited since, adding what is moved now
        to what was migrated; refuses if any changed since read."""
        now = datetime.now(UTC)
        await self._write_all(
            session,
            [
                UpdateOne(
                    {"_id": mark.wallet.id, "balance": mark.wallet.raw_balance, "migrated": True},
                    {
                        "$set": {
                            "balance": 0,
                            "lateMigratedAmount": mark.wallet.raw_balance,
                            "lateMigratedAt": now,
                            "updatedAt": now,
                            **({"lateMigrationRunId": mark.run_id} if mark.run_id else {}),
                        },
                        "$inc": {"migratedMinorUnits": mark.minor_units},
                    },
                )
                for mark in marks
            ],
        )

    async def restore(self, session: AsyncClientSession, restorations: Sequence[Restoration]) -> None:
        """Put migrated documents back exactly as they were (the same fields, of the same types);
        refuses if any changed since read."""
        await self._write_all(
            session,
            [
                ReplaceOne(
                    {
                        "_id": restoration.wallet.id,
                        "balance": restoration.wallet.raw_balance,
                        "migrated": True,
                        "migratedMinorUnits": restoration.wallet.migrated_minor_units,
                    },
                    restoration.original,
                )
                for restoration in restorations
            ],
        )

    async def _write_all(
        self, session: AsyncClientSession, writes: Sequence[UpdateOne | ReplaceOne[Document]]
    ) -> None:
        if not writes:
            return
        result = await self._wallets.bulk_write(list(writes), session=session)
        if result.matched_count != len(writes):
            raise LegacyWalletChanged(
                f"{len(writes) - result.matched_count} legacy wallets changed while they were migrated"
            )


def _of_user(user_id: str) -> dict[str, Any]:
    return {"userId": {"$in": user_id_forms(user_id)}}


def _wallet(document: Document) -> LegacyWallet:
    return LegacyWallet(
        id=document["_id"],
        raw_user_id=document.get("userId"),
        raw_balance=document.get("balance"),
        raw_currency=document.get("currency"),
        migrated=document.get("migrated") is True,
        migrated_minor_units=int(document.get("migratedMinorUnits") or 0),
        run_id=document.get("migrationRunId"),
        document=document,
    )
