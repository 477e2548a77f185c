"""Wallet top-ups by card: a platform PaymentIntent for Stripe Elements, credited by webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from app.config import Settings
from app.db import Collections, Database, Document
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.topups import TopupStatus, sources_of, topup_entry_key, topup_id_for
from app.errors import InvalidRequest, NotFound
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from app.services.payment_operations import PaymentOperations
from app.services.payment_requests import CreateTopupIntent

log = structlog.get_logger(__name__)


class TopupAmountOutOfRange(InvalidRequest):
    code = "topup_amount_out_of_range"


class UnsupportedCurrency(InvalidRequest):
    code = "unsupported_currency"


@dataclass(frozen=True, slots=True)
class TopupRequest:
    topup_id: str
    payment_intent_id: str
    client_secret: str | None
    amount: Money
    status: TopupStatus


class Topups:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        migration: LegacyMigration,
        operations: PaymentOperations,
        settings: Settings,
    ) -> None:
        self._db = database
        self._topups = database[Collections.TOPUPS]
        self._ledger = ledger
        self._migration = migration
        self._operations = operations
        self._settings = settings

    async def request(self, user_id: str, amount: Money, idempotency_key: str) -> TopupRequest:
        """Open a top-up and its PaymentIntent; the same key always yields the same pair."""
        self._check_amount(amount)
        await self._migration.migrate_user(user_id)
        topup_id = topup_id_for(user_id, idempotency_key)
        await self._open(topup_id, user_id, amount)
        intent = await self._operations.run(
            CreateTopupIntent(
                topup_id=topup_id, user_id=user_id, amount=amount.amount, currency=amount.currency
            ),
            refs={"topup_id": topup_id, "user_id": user_id},
        )
        topup = await self._topups.find_one_and_update(
            {"_id": topup_id},
            {"$set": {"payment_intent_id": intent.id, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        log.info("topup_requested", topup_id=topup_id, payment_intent=intent.id, amount=amount.amount)
        status = TopupStatus(topup["status"]) if topup else TopupStatus.REQUIRES_PAYMENT
        return TopupRequest(topup_id, intent.id, intent.client_secret, amount, status)

    def _check_amount(self, amount: Money) -> None:
        if amount.currency != self._settings.platform_currency:
            raise UnsupportedCurrency(
                f"wallets hold {self._settings.platform_currency}, not {amount.currency}"
            )
        low, high = self._settings.topup_min_amount, self._settings.topup_max_amount
        if not low <= amount.amount <= high:
            raise TopupAmountOutOfRange(
                f"a top-up is between {low} and {high} minor units", minimum=low, maximum=high
            )

    async def _open(self, topup_id: str, user_id: str, amount: Money) -> None:
        now = datetime.now(UTC)
        await self._topups.update_one(
            {"_id": topup_id},
            {
                "$setOnInsert": {
                    "user_id": user_id,
                    "amount": amount.amount,
                    "currency": amount.currency,
                    "status": str(TopupStatus.REQUIRES_PAYMENT),
                    "created_at": now,
                    "updated_at": now,
                }
            },
            upsert=True,
        )

    async def get(self, topup_id: str) -> Document:
        topup = await self._topups.find_one({"_id": topup_id})
        if topup is None:
            raise NotFound(f"no top-up {topup_id}")
        return topup

    async def pending_amount(self, user_id: str, currency: str) -> int:
        pipeline: list[dict[str, Any]] = [
            {
                "$match": {
                    "user_id": user_id,
                    "currency": currency,
                    "status": str(TopupStatus.REQUIRES_PAYMENT),
                }
            },
            {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
        ]
        async for row in await self._topups.aggregate(pipeline):
            return int(row["total"])
        return 0

    async def credit(self, payment_intent: dict[str, Any]) -> None:
        """Credit the wallet for a succeeded PaymentIntent, once, if it matches its top-up."""
        topup = await self._topup_of(payment_intent)
        if topup is None:
            return
        paid = Money(
            int(payment_intent["amount_received"] or payment_intent["amount"]), payment_intent["currency"]
        )
        if paid != Money(topup["amount"], topup["currency"]):
            await self._flag(
                topup, f"paid {paid.amount} {paid.currency}, expected {topup['amount']} {topup['currency']}"
            )
            return
        await self._db.transaction(
            lambda session: self._credit_in(session, topup, payment_intent["id"], paid)
        )

    async def _credit_in(
        self, session: AsyncClientSession, topup: Document, intent_id: str, paid: Money
    ) -> None:
        moved = await self._move(topup["_id"], TopupStatus.SUCCEEDED, session, payment_intent_id=intent_id)
        if not moved:
            return
        credit = Move(Accounts.CARD, Accounts.buyer_wallet(topup["user_id"]), paid.amount, paid.currency)
        await self._ledger.post_in(
            session,
            entry(
                topup_entry_key(intent_id),
                EntryKind.TOPUP,
                [credit],
                topup=topup["_id"],
                payment_intent=intent_id,
            ),
        )
        log.info("topup_credited", topup_id=topup["_id"], payment_intent=intent_id, amount=paid.amount)

    async def settle_unpaid(self, payment_intent: dict[str, Any], status: TopupStatus) -> None:
        """Mark a top-up failed or canceled; a top-up already credited stays credited."""
        topup = await self._topup_of(payment_intent)
        if topup is not None and await self._move(
            topup["_id"], status, None, payment_intent_id=payment_intent["id"]
        ):
            log.info(
                "topup_settled_unpaid",
                topup_id=topup["_id"],
                payment_intent=payment_intent["id"],
                status=status,
            )

    async def _move(
        self, topup_id: str, target: TopupStatus, session: AsyncClientSession | None, **fields: Any
    ) -> bool:
        result = await self._topups.update_one(
            {"_id": topup_id, "status": {"$in": sources_of(target)}},
            {"$set": {"status": str(target), "updated_at": datetime.now(UTC), **fields}},
            session=session,
        )
        return result.modified_count == 1

    async def _topup_of(self, payment_intent: dict[str, Any]) -> Document | None:
        topup_id = (payment_intent.get("metadata") or {}).get("topup_id")
        topup = await self._topups.find_one({"_id": topup_id}) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=payment_intent.get("id"), topup_id=topup_id)
        return topup

    async def _flag(self, topup: Document, reason: str) -> None:
        await self._topups.update_one(
            {"_id": topup["_id"]},
            {"$set": {"needs_review": True, "review_reason": reason, "updated_at": datetime.now(UTC)}},
        )
        log.error("topup_flagged_for_review", topup_id=topup["_id"], reason=reason)
