"""The `topups` collection: one document per card top-up, moved through its states by
compare-and-set updates that name the states it may come from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.ledger import UnknownCursor
from app.domain.money import Money
from app.domain.wallet import TopupAlreadyOpened, TopupStatus, sources_of, topup_list_key

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.TOPUPS: [
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("currency", ASCENDING)]),
        IndexModel([("payment_intent_id", ASCENDING)], sparse=True),
        # The admin list: newest first, alone or by status.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
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
    review_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Known only in the answer to the request that opened the top-up; never stored.
    client_secret: str | None = None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True, slots=True)
class TopupPage:
    data: list[Topup]
    has_more: bool


class TopupRepository:
    def __init__(self, database: Database) -> None:
        self._topups = database[Collections.TOPUPS]

    async def open(self, topup_id: str, user_id: str, amount: Money) -> None:
        """Create the top-up awaiting payment; opening it again for the same buyer and amount
        changes nothing, for anything else raises TopupAlreadyOpened."""
        now = datetime.now(UTC)
        same = {"_id": topup_id, "user_id": user_id, "amount": amount.amount, "currency": amount.currency}
        try:
            # A top-up that exists with other values does not match, so the upsert collides on _id.
            await self._topups.update_one(
                same,
                {
                    "$setOnInsert": {
                        "status": str(TopupStatus.REQUIRES_PAYMENT),
                        "created_at": now,
                        "updated_at": now,
                        LIST_KEY: topup_list_key(now, topup_id),
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError as exc:
            raise TopupAlreadyOpened(
                f"top-up {topup_id} was opened for another amount or currency", topup_id=topup_id
            ) from exc

    async def attach_payment_intent(self, topup_id: str, payment_intent_id: str) -> bool:
        """Record the top-up's PaymentIntent; whether the top-up still awaits payment (the usual
        case, told by the same update; any other status costs a second one)."""
        fields = {"$set": {"payment_intent_id": payment_intent_id, "updated_at": datetime.now(UTC)}}
        awaiting = {"_id": topup_id, "status": str(TopupStatus.REQUIRES_PAYMENT)}
        if (await self._topups.update_one(awaiting, fields)).matched_count:
            return True
        await self._topups.update_one({"_id": topup_id}, fields)
        return False

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

    async def page(self, status: TopupStatus | None, limit: int, starting_after: str | None) -> TopupPage:
        """Top-ups, newest first, of one status or all, after the top-up `starting_after`."""
        query: dict[str, Any] = {} if status is None else {"status": str(status)}
        if starting_after is not None:
            anchor = await self._topups.find_one({"_id": starting_after}, {LIST_KEY: True})
            if anchor is None:
                raise UnknownCursor(f"starting_after: no top-up {starting_after}")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._topups.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return TopupPage(data=[_topup(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def mark_paid(
        self, topup_id: str, user_id: str, paid: Money, payment_intent_id: str, session: AsyncClientSession
    ) -> bool:
        """Move the top-up to `succeeded` if it is this buyer's, for exactly `paid`, and may go
        there; whether it moved. One update whose match checks it all."""
        result = await self._topups.update_one(
            {
                "_id": topup_id,
                "user_id": user_id,
                "amount": paid.amount,
                "currency": paid.currency,
                "status": {"$in": sources_of(TopupStatus.SUCCEEDED)},
            },
            {
                "$set": {
                    "status": str(TopupStatus.SUCCEEDED),
                    "payment_intent_id": payment_intent_id,
                    "updated_at": datetime.now(UTC),
                }
            },
            session=session,
        )
        return result.modified_count == 1

    async def move(
        self,
        topup_id: str,
        target: TopupStatus,
        payment_intent_id: str | None,
        session: AsyncClientSession | None = None,
        *,
        review_reason: str | None = None,
    ) -> bool:
        """Move the top-up to `target` if it may go there from where it is; whether it moved."""
        fields: dict[str, Any] = {"status": str(target), "updated_at": datetime.now(UTC)}
        if payment_intent_id is not None:
            fields["payment_intent_id"] = payment_intent_id
        if review_reason is not None:
            fields["review_reason"] = review_reason
        result = await self._topups.update_one(
            {"_id": topup_id, "status": {"$in": sources_of(target)}}, {"$set": fields}, session=session
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
        review_reason=document.get("review_reason"),
        created_at=document.get("created_at"),
        updated_at=document.get("updated_at"),
    )
