"""The only code that touches the legacy system's wallets.

Legacy documents live in the marketplace's MongoDB (`wallets` by default), one per user:
`{userId, balance, currency, updatedAt}` with `balance` a decimal amount in major units. Once a
user is migrated, the document keeps the migrated amount and its balance is zero, so the legacy
system can no longer spend money that now lives in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from app.config import Settings
from app.db import Database, Document
from app.domain.migration import LegacyAmount, to_minor_units
from app.domain.money import validate_currency
from app.errors import ServiceError


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
    document: Document

    def amount(self) -> LegacyAmount:
        """The unmigrated balance in minor units; raises InvalidLegacyBalance when it has none."""
        return to_minor_units(self.raw_balance, self.currency)


class LegacyWalletBridge:
    def __init__(self, database: Database, settings: Settings) -> None:
        legacy_db = database.client[settings.legacy_wallet_database or settings.mongodb_database]
        self._wallets: AsyncCollection[Document] = legacy_db[settings.legacy_wallet_collection]

    async def read(self, user_id: str, *, session: AsyncClientSession | None = None) -> LegacyWallet | None:
        document = await self._wallets.find_one({"userId": user_id}, session=session)
        if document is None:
            return None
        return LegacyWallet(
            user_id=user_id,
            raw_balance=document.get("balance"),
            currency=validate_currency(str(document.get("currency", "")).lower()),
            migrated=bool(document.get("migrated")),
            document=document,
        )

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
