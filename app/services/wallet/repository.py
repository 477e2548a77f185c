"""The `topups` collection: one document per card top-up, moved through its states by
compare-and-set updates that name the states it may come from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.money import Money
from app.domain.wallet import TopupStatus, sources_of

INDEXES: dict[str, list[IndexModel]] = {
    Collections.TOPUPS: [
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("currency", ASCENDING)]),
        IndexModel([("payment_intent_id", ASCENDING)], sparse=True),
        IndexModel([("needs_review", ASCENDING)], sparse=True),
        # The expiry job: top-ups awaiting payment, oldest first.
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)]),
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
        self._db = database
        self._topups = database[Collections.TOPUPS]
        self._openings = database[Collections.TOPUP_OPENINGS]

    async def open(self, topup_id: str, user_id: str, amount: Money, max_open: int) -> bool:
        """Create the top-up awaiting payment, unless the buyer already has `max_open` awaiting
        payment (False); opening an existing one again changes nothing.

        Each opening writes the buyer's `topup_openings` document in its transaction, so two
        openings of one buyer conflict and run one after the other: together they cannot pass
        the limit, on one replica or several.
        """

        async def attempt(session: AsyncClientSession) -> bool:
            if await self._topups.count_documents({"_id": topup_id}, limit=1, session=session):
                return True
            now = datetime.now(UTC)
            await self._openings.update_one(
                {"_id": user_id}, {"$set": {"last_opened_at": now}}, upsert=True, session=session
            )
            awaiting = {"user_id": user_id, "status": str(TopupStatus.REQUIRES_PAYMENT)}
            if await self._topups.count_documents(awaiting, session=session) >= max_open:
                return False
            await self._topups.insert_one(_new_document(topup_id, user_id, amount, now), session=session)
            return True

        try:
            return await self._db.transaction(attempt)
        except DuplicateKeyError:
            return True  # opened by a concurrent request with the same key

    async def unpaid_opened_before(self, cutoff: datetime) -> AsyncIterator[Topup]:
        """Top-ups still awaiting payment that were opened before `cutoff`, oldest first."""
        query = {"status": str(TopupStatus.REQUIRES_PAYMENT), "created_at": {"$lt": cutoff}}
        async for document in self._topups.find(query).sort("created_at", ASCENDING):
            yield _topup(document)

    async def attach_payment_intent(self, topup_id: str, payment_intent_id: str) -> Topup | None:
        document = await self._topups.find_one_and_update(
            {"_id": topup_id},
            {"$set": {"payment_intent_id": payment_intent_id, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        return _topup(document) if document else None

    async def get(self, topup_id: str, owner: str | None = None) -> Topup | None:
        query = {"_id": topup_id} if owner is None else {"_id": topup_id, "user_id": owner}
        document = await self._topups.find_one(query)
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


def _new_document(topup_id: str, user_id: str, amount: Money, now: datetime) -> Document:
    return {
        "_id": topup_id,
        "user_id": user_id,
        "amount": amount.amount,
        "currency": amount.currency,
        "status": str(TopupStatus.REQUIRES_PAYMENT),
        "created_at": now,
        "updated_at": now,
    }


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
