"""The `topups` collection: one document per card top-up, moved through its states by
compare-and-set updates that name the states it may come from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.money import Money
from app.domain.wallet import TopupStatus, sources_of

INDEXES: dict[str, list[IndexModel]] = {
    Collections.TOPUPS: [
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("currency", ASCENDING)]),
        IndexModel([("payment_intent_id", ASCENDING)], sparse=True),
        IndexModel([("needs_review", ASCENDING)], sparse=True),
    ],
}


@dataclass(frozen=True, slots=True)
class Topup:
    id: str
    user_id: str
    amount: int
    currency: str
    status: TopupStatus
    payment_intent_id: str | None = None
    needs_review: bool = False
    review_reason: str | None = None
    # Known only in the answer to the request that opened the top-up; never stored.
    client_secret: str | None = None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class TopupRepository:
    def __init__(self, database: Database) -> None:
        self._topups = database[Collections.TOPUPS]

    async def open(self, topup_id: str, user_id: str, amount: Money) -> None:
        """Create the top-up awaiting payment; opening it again changes nothing."""
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

    async def attach_payment_intent(self, topup_id: str, payment_intent_id: str) -> Topup | None:
        document = await self._topups.find_one_and_update(
            {"_id": topup_id},
            {"$set": {"payment_intent_id": payment_intent_id, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        return _topup(document) if document else None

    async def get(self, topup_id: str) -> Topup | None:
        document = await self._topups.find_one({"_id": topup_id})
        return _topup(document) if document else None

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

    async def move(
        self,
        topup_id: str,
        target: TopupStatus,
        payment_intent_id: str,
        session: AsyncClientSession | None = None,
    ) -> TopupStatus | None:
        """Move the top-up to `target` if it may go there from where it is; the status it left,
        or None when it did not move."""
        previous = await self._topups.find_one_and_update(
            {"_id": topup_id, "status": {"$in": sources_of(target)}},
            {
                "$set": {
                    "status": str(target),
                    "updated_at": datetime.now(UTC),
                    "payment_intent_id": payment_intent_id,
                }
            },
            projection={"status": True},
            session=session,
        )
        return TopupStatus(previous["status"]) if previous else None

    async def flag(self, topup_id: str, reason: str, session: AsyncClientSession) -> bool:
        """Flag the top-up for an operator; whether it was not flagged before."""
        result = await self._topups.update_one(
            {"_id": topup_id, "needs_review": {"$ne": True}},
            {"$set": {"needs_review": True, "review_reason": reason, "updated_at": datetime.now(UTC)}},
            session=session,
        )
        return result.modified_count == 1


def _topup(document: Document) -> Topup:
    return Topup(
        id=document["_id"],
        user_id=document["user_id"],
        amount=document["amount"],
        currency=document["currency"],
        status=TopupStatus(document["status"]),
        payment_intent_id=document.get("payment_intent_id"),
        needs_review=document.get("needs_review", False),
        review_reason=document.get("review_reason"),
    )
