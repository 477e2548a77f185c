"""The only code that touches the legacy system's wallets.

Legacy documents live in the marketplace's MongoDB (`wallets` by default), one per user:
`{userId, balance, currency, updatedAt}` with `balance` a decimal amount in major units. Once a
user is migrated, the document keeps the migrated amount and its balance is zero, so the legacy
system can no longer spend money that now lives in the ledger.

Every wallet operation looks its user up by `userId`. When no index leads with `userId`, the
service creates one, `payments_service_userId`, if `LEGACY_WALLET_INDEX` is true (the default):
the service owns that index, and the legacy system must leave it in place. With the setting
false, someone else must provide an index on `userId`; start-up warns when none exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from app.config import Settings
from app.db import Database, Document
from app.domain.migration import LegacyAmount, to_minor_units
from app.domain.money import validate_currency
from app.errors import ServiceError

log = structlog.get_logger(__name__)

USER_INDEX = "payments_service_userId"
# What a lookup needs to tell how the wallet stands; the whole document is read only to migrate it.
_STATE_FIELDS = {"balance": True, "currency": True, "migrated": True, "migratedMinorUnits": True}


class LegacyWalletChanged(ServiceError):
    code = "legacy_wallet_changed"
    status = 409
    title = "The legacy wallet changed during migration"


@dataclass(frozen=True, slots=True)
class LegacyWallet:
    user_id: str
    raw_balance: Any
    currency: str
    migrated: bool
    # What the migration moved into the ledger (minor units); zero until the user is migrated.
    migrated_minor_units: int
    document: Document

    def amount(self) -> LegacyAmount:
        """The unmigrated balance in minor units; raises InvalidLegacyBalance when it has none."""
        return to_minor_units(self.raw_balance, self.currency)


class LegacyWalletBridge:
    def __init__(self, database: Database, settings: Settings) -> None:
        legacy_db = database.client[settings.legacy_wallet_database or settings.mongodb_database]
        self._wallets: AsyncCollection[Document] = legacy_db[settings.legacy_wallet_collection]

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

    async def lookup(self, user_id: str) -> LegacyWallet | None:
        """How the user's legacy wallet stands now: one indexed read of the fields that say it."""
        document = await self._wallets.find_one({"userId": user_id}, _STATE_FIELDS)
        return _wallet(user_id, document) if document else None

    async def read(self, user_id: str, session: AsyncClientSession) -> LegacyWallet | None:
        """The whole legacy document, inside a migration's transaction."""
        document = await self._wallets.find_one({"userId": user_id}, session=session)
        return _wallet(user_id, document) if document else None

    async def mark_migrated(
        self, session: AsyncClientSession, wallet: LegacyWallet, minor_units: int
    ) -> None:
        """Zero the legacy balance, keeping what was migrated; refuses if it changed since `read`."""
        now = datetime.now(UTC)
        result = await self._wallets.update_one(
            {"_id": wallet.document["_id"], "balance": wallet.raw_balance, "migrated": {"$ne": True}},
            {
                "$set": {
                    "balance": 0,
                    "migrated": True,
                    "migratedAmount": wallet.raw_balance,
                    "migratedMinorUnits": minor_units,
                    "migratedAt": now,
                    "updatedAt": now,
                }
            },
            session=session,
        )
        if result.modified_count != 1:
            raise LegacyWalletChanged(f"the legacy wallet of {wallet.user_id} changed while it was migrated")

    async def mark_late_migrated(
        self, session: AsyncClientSession, wallet: LegacyWallet, minor_units: int
    ) -> None:
        """Zero again a migrated wallet the legacy system credited since, adding what is moved now
        to what was migrated; refuses if it changed since `read`."""
        now = datetime.now(UTC)
        result = await self._wallets.update_one(
            {"_id": wallet.document["_id"], "balance": wallet.raw_balance, "migrated": True},
            {
                "$set": {"balance": 0, "lateMigratedAt": now, "updatedAt": now},
                "$inc": {"migratedMinorUnits": minor_units},
            },
            session=session,
        )
        if result.modified_count != 1:
            raise LegacyWalletChanged(f"the legacy wallet of {wallet.user_id} changed while it was migrated")


def _wallet(user_id: str, document: Document) -> LegacyWallet:
    return LegacyWallet(
        user_id=user_id,
        raw_balance=document.get("balance"),
        currency=validate_currency(str(document.get("currency", "")).lower()),
        migrated=bool(document.get("migrated")),
        migrated_minor_units=int(document.get("migratedMinorUnits") or 0),
        document=document,
    )
