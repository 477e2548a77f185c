"""The `disputes`, `dispute_evidence`, `seller_debts`, `seller_recoveries` and `seller_gates`
collections.

A dispute names the sellers it concerns (`shares`: one per escrow, with the amount at stake for
that seller) and whether it is `open`, so "does seller S have an open dispute or chargeback, and
for how much" is one indexed query (`seller_ids`, `open`). One open buyer's dispute per escrow is
a partial unique index. What a seller owes the platform is one document per seller and currency,
changed only by conditional increments inside the transactions that create or recover it.

A seller's gate (`seller_gates`) is one document, passed (its count incremented) by every
dispute's or chargeback's opening on the seller's money and by every payout request, each in its
own transaction: two transactions writing one document cannot both commit unless one started
after the other committed (MongoDB's write conflict aborts and retries the other), so a payout
request that reads the seller's open disputes in its transaction either sees a dispute opened
meanwhile or commits before that dispute opens. The count each one passed at orders them. A
payout request reads the gate with its disputes and debt (`standing_in`, one command) and passes
it in its last write (`gate_pass_write`): its count is the one read plus one, since a pass by
anyone after its read makes its own write conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.checkout import Funding
from app.domain.disputes import OPEN_STATUSES, DisputeKind, DisputeStatus, Outcome, list_key
from app.errors import UnknownCursor
from app.services.checkout import funding_document
from app.services.webhooks import reserve_read, stored_read_fields, unless_later_read_stored

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.DISPUTES: [
        # The payouts' guard: a seller's open disputes and chargebacks, and what they hold.
        IndexModel([("seller_ids", ASCENDING), ("open", ASCENDING)]),
        # One open buyer's dispute per escrow.
        IndexModel(
            [("escrow_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"open": True, "kind": str(DisputeKind.BUYER)},
            name="one_open_buyer_dispute_per_escrow",
        ),
        # Open disputes of an escrow (a chargeback closing thaws only an escrow nothing else holds).
        IndexModel([("escrow_ids", ASCENDING), ("open", ASCENDING)]),
        # The admin list, newest first, by status, kind or both, or open or closed (with its kind
        # or not); the overview's counts of open disputes and chargebacks.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("kind", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("kind", ASCENDING), ("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("open", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("kind", ASCENDING), ("open", ASCENDING), (LIST_KEY, DESCENDING)]),
    ],
    Collections.DISPUTE_EVIDENCE: [IndexModel([("dispute_id", ASCENDING), ("created_at", ASCENDING)])],
    Collections.SELLER_RECOVERIES: [IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)])],
}


@dataclass(frozen=True, slots=True)
class DisputeShare:
    """One seller's part in a dispute: their escrow, and what is at stake for them."""

    escrow_id: str
    seller_id: str
    amount: int
    # Whether that seller had been paid when the dispute opened (the money is on their account).
    transferred: bool = False


@dataclass(frozen=True, slots=True)
class Dispute:
    id: str
    kind: DisputeKind
    status: DisputeStatus
    order_id: str | None
    buyer_id: str | None
    currency: str
    amount: int
    shares: tuple[DisputeShare, ...]
    # How the money at stake was paid (the disputed escrows' funding when the dispute opened).
    funding: Funding
    created_at: datetime
    updated_at: datetime
    reason: str
    description: str | None = None
    escrow_id: str | None = None
    stripe_dispute_id: str | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    evidence_due_by: datetime | None = None
    outcome: Outcome | None = None
    note: str | None = None
    refund_id: str | None = None
    resolved_at: datetime | None = None
    frozen_escrow_ids: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def seller_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(share.seller_id for share in self.shares))

    @property
    def transferred(self) -> bool:
        return any(share.transferred for share in self.shares)


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    """What the admin list is narrowed to; each combination is served by an index."""

    status: DisputeStatus | None = None
    kind: DisputeKind | None = None
    open: bool | None = None

    def as_query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.status is not None:
            query["status"] = str(self.status)
        if self.kind is not None:
            query["kind"] = str(self.kind)
        if self.open is not None:
            query["open"] = self.open
        return query


@dataclass(frozen=True, slots=True)
class DisputePage:
    data: list[Dispute]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    dispute_id: str
    author_id: str
    author_role: str
    created_at: datetime
    text: str | None = None
    file_id: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class SellerHold:
    """What the payouts guard asks: the seller's open disputes and chargebacks, and the money at
    stake in them, per currency."""

    seller_id: str
    open_disputes: int
    amounts: dict[str, int] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.open_disputes > 0


@dataclass(frozen=True, slots=True)
class GatedStanding:
    """What a payout request decides on, read in its transaction: the seller's hold, what they
    owe in one currency, and the write passing their gate (the request sends it in that
    transaction, which orders it among the openings), with the count that pass makes."""

    hold: SellerHold
    owed: int
    gate: int
    pass_gate: UpdateOne


def dispute_document(
    dispute_id: str,
    kind: DisputeKind,
    status: DisputeStatus,
    currency: str,
    amount: int,
    shares: Sequence[DisputeShare],
    funding: Funding,
    reason: str,
    now: datetime,
    **fields: Any,
) -> Document:
    document: Document = {
        "_id": dispute_id,
        "kind": str(kind),
        "status": str(status),
        "open": status in OPEN_STATUSES,
        "currency": currency,
        "amount": amount,
        "shares": [_share_document(share) for share in shares],
        "seller_ids": sorted({share.seller_id for share in shares}),
        "escrow_ids": sorted({share.escrow_id for share in shares}),
        "funding": funding_document(funding),
        "reason": reason,
        "created_at": now,
        "updated_at": now,
        LIST_KEY: list_key(now, dispute_id),
        **fields,
    }
    return document


class DisputeRepository:
    def __init__(self, database: Database) -> None:
        self._disputes = database[Collections.DISPUTES]
        self._evidence = database[Collections.DISPUTE_EVIDENCE]
        self._gates = database[Collections.SELLER_GATES]
        self._gates_namespace = database.namespace(Collections.SELLER_GATES)

    async def pass_gate(self, session: AsyncClientSession, seller_id: str) -> int:
        """Pass the seller's gate in the caller's transaction (see the module); its count now."""
        gate = await self._gates.find_one_and_update(
            {"_id": seller_id},
            {"$inc": {"passes": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert gate is not None  # an upsert returning the document after it
        return int(gate["passes"])

    def gate_pass_write(self, seller_id: str) -> UpdateOne:
        """`pass_gate` for the caller's `write_together`, after its `standing_in`."""
        return UpdateOne(
            {"_id": seller_id}, {"$inc": {"passes": 1}}, upsert=True, namespace=self._gates_namespace
        )

    async def standing_in(
        self, session: AsyncClientSession, seller_id: str, debt_id: str
    ) -> tuple[SellerHold, int, int]:
        """The seller's hold, their debt `debt_id` and their gate's count, in one read of the
        caller's transaction. (`$facet` answers one document even without a dispute, for the
        `$lookup`s to join; MongoDB refuses `$unionWith` inside a transaction.)"""
        pipeline = [
            _open_disputes_of(seller_id),
            {"$facet": {"hold": _held_by_currency(seller_id)}},
            _one_field(Collections.SELLER_DEBTS, debt_id, "owed"),
            _one_field(Collections.SELLER_GATES, seller_id, "passes"),
        ]
        [row] = [row async for row in await self._disputes.aggregate(pipeline, session=session)]
        owed = row["owed"][0]["owed"] if row["owed"] else 0
        passes = row["passes"][0]["passes"] if row["passes"] else 0
        return _hold(seller_id, row["hold"]), int(owed), int(passes)

    async def insert(self, session: AsyncClientSession | None, document: Document) -> None:
        """A new dispute; a second open buyer's dispute of one escrow, or an id used already,
        raises DuplicateKeyError."""
        await self._disputes.insert_one(document, session=session)

    async def get(self, dispute_id: str, session: AsyncClientSession | None = None) -> Dispute | None:
        document = await self._disputes.find_one({"_id": dispute_id}, session=session)
        return as_dispute(document) if document else None

    async def move(
        self,
        session: AsyncClientSession,
        dispute: Dispute,
        target: DisputeStatus,
        now: datetime,
        **fields: Any,
    ) -> bool:
        """`dispute.status` → `target` (and `fields`); whether it moved."""
        moved = await self._disputes.update_one(
            {"_id": dispute.id, "status": str(dispute.status)},
            {
                "$set": {
                    **fields,
                    "status": str(target),
                    "open": target in OPEN_STATUSES,
                    "updated_at": now,
                }
            },
            session=session,
        )
        return moved.modified_count == 1

    async def others_open_on(self, session: AsyncClientSession, escrow_id: str, dispute_id: str) -> bool:
        """Whether a dispute other than `dispute_id` is open on the escrow."""
        found = await self._disputes.find_one(
            {"escrow_ids": escrow_id, "open": True, "_id": {"$ne": dispute_id}},
            {"_id": True},
            session=session,
        )
        return found is not None

    async def hold_of(self, seller_id: str) -> SellerHold:
        rows = [row async for row in await self._disputes.aggregate(_hold_pipeline(seller_id))]
        return _hold(seller_id, rows)

    async def page(self, where: DisputeFilter, limit: int, starting_after: str | None) -> DisputePage:
        query = where.as_query()
        if starting_after is not None:
            anchor = await self._disputes.find_one({"_id": starting_after, **query}, {LIST_KEY: True})
            if anchor is None:
                raise UnknownCursor(f"starting_after: no dispute {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._disputes.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return DisputePage(data=[as_dispute(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def count_open(self, kind: DisputeKind) -> int:
        return await self._disputes.count_documents({"kind": str(kind), "open": True})

    # Stripe's view of a chargeback, stored by read tickets (`app.services.webhooks`)

    async def reserve_read(self, dispute_id: str) -> int:
        return await reserve_read(self._disputes, dispute_id)

    async def store_stripe_status(
        self,
        session: AsyncClientSession,
        dispute_id: str,
        ticket: int,
        status: DisputeStatus,
        now: datetime,
    ) -> Document | None:
        """Store Stripe's status read under `ticket` unless a later read is stored; the dispute as
        it was before, None if nothing was stored."""
        return await self._disputes.find_one_and_update(
            unless_later_read_stored(dispute_id, ticket),
            {
                "$set": stored_read_fields(
                    {"status": str(status), "open": status in OPEN_STATUSES, "updated_at": now}, ticket
                )
            },
            session=session,
            return_document=ReturnDocument.BEFORE,
        )

    # Evidence

    async def add_evidence(self, session: AsyncClientSession, document: Document) -> None:
        await self._evidence.insert_one(document, session=session)

    async def evidence_of(self, dispute_id: str) -> list[Evidence]:
        cursor = self._evidence.find({"dispute_id": dispute_id}).sort("created_at", ASCENDING)
        return [as_evidence(document) async for document in cursor]

    async def evidence_file(self, dispute_id: str, file_id: str) -> Evidence | None:
        document = await self._evidence.find_one({"dispute_id": dispute_id, "file_id": file_id})
        return as_evidence(document) if document else None


def _share_document(share: DisputeShare) -> Document:
    return {
        "escrow_id": share.escrow_id,
        "seller_id": share.seller_id,
        "amount": share.amount,
        "transferred": share.transferred,
    }


def as_dispute(document: Document) -> Dispute:
    outcome = document.get("outcome")
    return Dispute(
        id=document["_id"],
        kind=DisputeKind(document["kind"]),
        status=DisputeStatus(document["status"]),
        order_id=document.get("order_id"),
        buyer_id=document.get("buyer_id"),
        currency=document["currency"],
        amount=document["amount"],
        shares=tuple(DisputeShare(**share) for share in document["shares"]),
        funding=Funding(**document["funding"]),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        reason=document["reason"],
        description=document.get("description"),
        escrow_id=document.get("escrow_id"),
        stripe_dispute_id=document.get("stripe_dispute_id"),
        charge_id=document.get("charge_id"),
        payment_intent_id=document.get("payment_intent_id"),
        evidence_due_by=document.get("evidence_due_by"),
        outcome=Outcome(outcome) if outcome else None,
        note=document.get("note"),
        refund_id=document.get("refund_id"),
        resolved_at=document.get("resolved_at"),
        frozen_escrow_ids=tuple(document.get("frozen_escrow_ids", ())),
    )


def as_evidence(document: Document) -> Evidence:
    return Evidence(
        id=document["_id"],
        dispute_id=document["dispute_id"],
        author_id=document["author_id"],
        author_role=document["author_role"],
        created_at=document["created_at"],
        text=document.get("text"),
        file_id=document.get("file_id"),
        filename=document.get("filename"),
        content_type=document.get("content_type"),
        size=document.get("size"),
    )


def _hold_pipeline(seller_id: str) -> list[dict[str, Any]]:
    """The seller's open disputes and chargebacks, one row per currency with its disputes."""
    return [_open_disputes_of(seller_id), *_held_by_currency(seller_id)]


def _open_disputes_of(seller_id: str) -> dict[str, Any]:
    return {"$match": {"seller_ids": seller_id, "open": True}}


def _held_by_currency(seller_id: str) -> list[dict[str, Any]]:
    return [
        {"$unwind": "$shares"},
        {"$match": {"shares.seller_id": seller_id}},
        {
            "$group": {
                "_id": "$currency",
                "amount": {"$sum": "$shares.amount"},
                "disputes": {"$addToSet": "$_id"},
            }
        },
    ]


def _hold(seller_id: str, rows: list[Document]) -> SellerHold:
    return SellerHold(
        seller_id=seller_id,
        open_disputes=sum(len(row["disputes"]) for row in rows),
        amounts={row["_id"]: row["amount"] for row in rows},
    )


def _one_field(collection: str, document_id: str, field_name: str) -> dict[str, Any]:
    """A `$lookup` adding one field of one document of `collection` as `field_name`: a list of
    that document's field, empty when there is no such document."""
    return {
        "$lookup": {
            "from": collection,
            "pipeline": [{"$match": {"_id": document_id}}, {"$project": {"_id": False, field_name: True}}],
            "as": field_name,
        }
    }
