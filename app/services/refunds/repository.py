"""The `refunds` collection: each refund of an escrow, its parts by source, and where its card
part stands at Stripe. Status changes are compare-and-set updates naming the status they leave."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.checkout import Funding
from app.domain.disputes import list_key
from app.domain.refunds import RefundStatus
from app.errors import UnknownCursor
from app.services.checkout import funding_document
from app.services.webhooks import reserve_read, store_read

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.REFUNDS: [
        # The admin list, newest first, alone or by status (`failed` to act on).
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        # A charge's refunds still with Stripe (`charge.refunded` names the charge only).
        IndexModel([("payment_intent_id", ASCENDING), ("status", ASCENDING)]),
    ],
}


@dataclass(frozen=True, slots=True)
class RefundRecord:
    id: str
    order_id: str
    escrow_id: str
    seller_id: str
    buyer_id: str
    currency: str
    amount: int
    parts: Funding
    # The ledger account the money comes back from (the escrow's while it holds it).
    source_account: str
    status: RefundStatus
    reason: str
    created_at: datetime
    updated_at: datetime
    payment_intent_id: str | None = None
    dispute_id: str | None = None
    card_accepted: bool = False
    stripe_refund_id: str | None = None
    stripe_status: str | None = None
    failure_reason: str | None = None

    @property
    def refs(self) -> dict[str, str]:
        refs = {"order": self.order_id, "escrow": self.escrow_id}
        return {**refs, "dispute": self.dispute_id} if self.dispute_id else refs


@dataclass(frozen=True, slots=True)
class RefundPage:
    data: list[RefundRecord]
    has_more: bool


def refund_document(
    refund_id: str,
    *,
    order_id: str,
    escrow_id: str,
    seller_id: str,
    buyer_id: str,
    currency: str,
    parts: Funding,
    source_account: str,
    payment_intent_id: str | None,
    reason: str,
    dispute_id: str | None,
    now: datetime,
) -> Document:
    status = RefundStatus.PENDING if parts.card else RefundStatus.SUCCEEDED
    return {
        "_id": refund_id,
        "order_id": order_id,
        "escrow_id": escrow_id,
        "seller_id": seller_id,
        "buyer_id": buyer_id,
        "currency": currency,
        "amount": parts.total,
        "parts": funding_document(parts),
        "source_account": source_account,
        "payment_intent_id": payment_intent_id,
        "reason": reason,
        "dispute_id": dispute_id,
        "status": str(status),
        "card_accepted": False,
        "created_at": now,
        "updated_at": now,
        LIST_KEY: list_key(now, refund_id),
    }


class RefundRepository:
    def __init__(self, database: Database) -> None:
        self._refunds = database[Collections.REFUNDS]

    async def insert(self, session: AsyncClientSession, document: Document) -> None:
        """A new refund; one with this id already raises DuplicateKeyError."""
        await self._refunds.insert_one(document, session=session)

    async def get(self, refund_id: str) -> RefundRecord | None:
        document = await self._refunds.find_one({"_id": refund_id})
        return as_refund(document) if document else None

    async def many(self, refund_ids: Sequence[str]) -> dict[str, RefundRecord]:
        """The refunds of `refund_ids` that exist, by id, in one read."""
        cursor = self._refunds.find({"_id": {"$in": list(refund_ids)}})
        return {document["_id"]: as_refund(document) async for document in cursor}

    async def update(
        self,
        session: AsyncClientSession,
        refund: RefundRecord,
        fields: Document,
        *,
        card_accepted: bool | None = None,
    ) -> bool:
        """Set `fields` if the refund is still in `refund.status` (and, when named, its card part
        accepted or not); whether it changed."""
        query: Document = {"_id": refund.id, "status": str(refund.status)}
        if card_accepted is not None:
            query["card_accepted"] = card_accepted
        changed = await self._refunds.update_one(query, {"$set": fields}, session=session)
        return changed.modified_count == 1

    async def pending_of(self, payment_intent_id: str) -> list[RefundRecord]:
        cursor = self._refunds.find(
            {"payment_intent_id": payment_intent_id, "status": str(RefundStatus.PENDING)}
        )
        return [as_refund(document) async for document in cursor]

    async def count(self, status: RefundStatus) -> int:
        return await self._refunds.count_documents({"status": str(status)})

    async def page(self, status: RefundStatus | None, limit: int, starting_after: str | None) -> RefundPage:
        query: dict[str, Any] = {} if status is None else {"status": str(status)}
        if starting_after is not None:
            anchor = await self._refunds.find_one({"_id": starting_after, **query}, {LIST_KEY: True})
            if anchor is None:
                raise UnknownCursor(f"starting_after: no refund {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._refunds.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return RefundPage(data=[as_refund(d) for d in documents[:limit]], has_more=len(documents) > limit)

    # Stripe's view of the card part, stored by read tickets (`app.services.webhooks`)

    async def reserve_read(self, refund_id: str) -> int:
        return await reserve_read(self._refunds, refund_id)

    async def store_stripe_status(self, refund_id: str, ticket: int, stripe_status: str | None) -> bool:
        return await store_read(self._refunds, refund_id, ticket, {"stripe_status": stripe_status})


def as_refund(document: Document) -> RefundRecord:
    parts = document["parts"]
    return RefundRecord(
        id=document["_id"],
        order_id=document["order_id"],
        escrow_id=document["escrow_id"],
        seller_id=document["seller_id"],
        buyer_id=document["buyer_id"],
        currency=document["currency"],
        amount=document["amount"],
        parts=Funding(legacy=parts["legacy"], wallet=parts["wallet"], card=parts["card"]),
        source_account=document["source_account"],
        status=RefundStatus(document["status"]),
        reason=document["reason"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        payment_intent_id=document.get("payment_intent_id"),
        dispute_id=document.get("dispute_id"),
        card_accepted=document.get("card_accepted", False),
        stripe_refund_id=document.get("stripe_refund_id"),
        stripe_status=document.get("stripe_status"),
        failure_reason=document.get("failure_reason"),
    )
