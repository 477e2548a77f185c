"""What a buyer sees of their wallet: both balances and the history of both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.db import Collections, Database, Document
from app.domain.ledger import Accounts
from app.domain.legacy_amounts import InvalidLegacyBalance
from app.errors import InvalidRequest
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration, LegacyWalletStatus
from app.services.wallet.topups import Topups


class UnknownCursor(InvalidRequest):
    code = "invalid_cursor"


@dataclass(frozen=True, slots=True)
class WalletSummary:
    currency: str
    legacy_balance: int
    platform_balance: int
    pending_topups: int
    legacy_wallet_status: str

    @property
    def total_balance(self) -> int:
        return self.legacy_balance + self.platform_balance


@dataclass(frozen=True, slots=True)
class WalletLine:
    id: str
    source: str
    kind: str
    amount: int
    currency: str
    balance_after: int
    refs: dict[str, str]
    created_at: datetime


class WalletView:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        migration: LegacyMigration,
        bridge: LegacyWalletBridge,
        topups: Topups,
    ) -> None:
        self._postings = database[Collections.LEDGER_POSTINGS]
        self._ledger = ledger
        self._migration = migration
        self._bridge = bridge
        self._topups = topups

    async def summary(self, user_id: str, currency: str) -> WalletSummary:
        legacy_balance, status = await self._legacy_balance(user_id, currency)
        return WalletSummary(
            currency=currency,
            legacy_balance=legacy_balance,
            platform_balance=await self._ledger.balance(Accounts.buyer_wallet(user_id), currency),
            pending_topups=await self._topups.pending_amount(user_id, currency),
            legacy_wallet_status=status,
        )

    async def _legacy_balance(self, user_id: str, currency: str) -> tuple[int, str]:
        if await self._migration.record(user_id) is not None:
            balance = await self._ledger.balance(Accounts.buyer_legacy(user_id), currency)
            return balance, str(LegacyWalletStatus.MIGRATED)
        wallet = await self._bridge.read(user_id)
        if wallet is None or wallet.currency != currency:
            return 0, str(LegacyWalletStatus.NONE)
        try:
            return wallet.amount().minor_units, str(LegacyWalletStatus.NOT_MIGRATED)
        except InvalidLegacyBalance:
            # Shown as nothing to spend until an operator fixes the legacy record.
            return 0, "invalid"

    async def lines(
        self, user_id: str, currency: str, *, limit: int, starting_after: str | None
    ) -> tuple[list[WalletLine], bool]:
        """Both wallet accounts' postings, newest first; one more is read to tell if there are more."""
        sources = {Accounts.buyer_legacy(user_id): "legacy", Accounts.buyer_wallet(user_id): "platform"}
        query: dict[str, Any] = {"account": {"$in": list(sources)}, "currency": currency}
        if starting_after is not None:
            query.update(await self._after(starting_after, query))
        cursor = (
            self._postings.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
        )
        documents = [doc async for doc in cursor]
        return [_line(doc, sources[doc["account"]]) for doc in documents[:limit]], len(documents) > limit

    async def _after(self, posting_id: str, query: dict[str, Any]) -> dict[str, Any]:
        anchor = await self._postings.find_one({"_id": posting_id, **query})
        if anchor is None:
            raise UnknownCursor(f"starting_after {posting_id!r} is not a line of this wallet")
        created = anchor["created_at"]
        return {
            "$or": [{"created_at": {"$lt": created}}, {"created_at": created, "_id": {"$lt": posting_id}}]
        }


def _line(doc: Document, source: str) -> WalletLine:
    return WalletLine(
        id=doc["_id"],
        source=source,
        kind=doc["kind"],
        amount=doc["amount"],
        currency=doc["currency"],
        balance_after=doc["balance_after"],
        refs=doc["refs"],
        created_at=doc["created_at"],
    )
