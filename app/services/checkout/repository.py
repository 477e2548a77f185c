"""The `orders` and `escrows` collections.

An order holds what was bought (a snapshot of each line) and how it is paid; an escrow holds one
seller's part of it, its fee and net, and its funding split. Statuses change only by
compare-and-set updates that name the statuses they come from. Writes that ride on a ledger
entry's last command (`Ledger.post_in(..., along=...)`) are built here as namespaced writes.

Some compare-and-set writes are upserts on purpose (`release_write`): an escrow that exists but
is not in the named status does not match, so the upsert collides on `_id` and the duplicate key
aborts the whole transaction, which is what a failed compare-and-set must do there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.checkout import (
    EscrowPlan,
    EscrowStatus,
    Funding,
    OrderLine,
    OrderStatus,
    ReleaseReason,
    list_key,
)
from app.domain.ledger import Accounts
from app.errors import UnknownCursor

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.ORDERS: [
        # A buyer's orders, newest first.
        IndexModel([("buyer_id", ASCENDING), (LIST_KEY, DESCENDING)]),
        # The expiry job: orders awaiting payment, oldest first.
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)]),
    ],
    Collections.ESCROWS: [
        IndexModel([("order_id", ASCENDING), ("seller_id", ASCENDING)]),
        # The auto-release job: held escrows, longest held first.
        IndexModel([("status", ASCENDING), ("held_at", ASCENDING)]),
        # A seller's escrows by status: what they have in escrow now.
        IndexModel([("seller_id", ASCENDING), ("status", ASCENDING)]),
    ],
}


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    buyer_id: str
    status: OrderStatus
    currency: str
    lines: tuple[OrderLine, ...]
    total: int
    funding: Funding
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    payment_intent_id: str | None = None
    charge_id: str | None = None
    paid_at: datetime | None = None
    canceled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def amount_due(self) -> int:
        """What the card must pay; nothing once the order is paid or canceled."""
        return self.funding.card if self.status is OrderStatus.AWAITING_PAYMENT else 0


@dataclass(frozen=True, slots=True)
class Escrow:
    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    currency: str
    gross: int
    fee: int
    net: int
    funding: Funding
    status: EscrowStatus
    created_at: datetime
    updated_at: datetime
    charge_id: str | None = None
    held_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: ReleaseReason | None = None
    transfer_ids: tuple[str, ...] = ()
    stripe_transfer_ids: tuple[str, ...] = ()
    # What went back out of it to the buyer (or a chargeback), by source; `fee` and `net` are
    # those of what it keeps.
    refunded: Funding = field(default_factory=Funding)

    @property
    def ledger_account(self) -> str:
        return Accounts.escrow(self.order_id, self.seller_id)

    @property
    def remaining(self) -> Funding:
        """What it still holds (or held when released), by source."""
        return self.funding - self.refunded


@dataclass(frozen=True, slots=True)
class OrderPage:
    data: list[Order]
    has_more: bool


def order_document(
    order_id: str,
    buyer_id: str,
    currency: str,
    lines: Sequence[OrderLine],
    funding: Funding,
    fingerprint: str,
    now: datetime,
) -> Document:
    status = OrderStatus.PAID if funding.card == 0 else OrderStatus.AWAITING_PAYMENT
    document: Document = {
        "_id": order_id,
        "buyer_id": buyer_id,
        "status": str(status),
        "currency": currency,
        "lines": [_line_document(line) for line in lines],
        "total": funding.total,
        "funding": funding_document(funding),
        "fingerprint": fingerprint,
        "created_at": now,
        "updated_at": now,
        LIST_KEY: list_key(now, order_id),
    }
    if status is OrderStatus.PAID:
        document["paid_at"] = now
    return document


def escrow_document(
    escrow_id: str,
    order: Document,
    plan: EscrowPlan,
    funding: Funding,
) -> Document:
    """An escrow as opened: held at once when its order is paid (the wallet paid it all), else
    awaiting the card's funds."""
    paid = order["status"] == OrderStatus.PAID
    document: Document = {
        "_id": escrow_id,
        "order_id": order["_id"],
        "buyer_id": order["buyer_id"],
        "seller_id": plan.seller_id,
        "currency": order["currency"],
        "gross": plan.gross,
        "fee": plan.fee,
        "net": plan.net,
        "funding": funding_document(funding),
        "refunded": funding_document(Funding()),
        "status": str(EscrowStatus.HELD if paid else EscrowStatus.AWAITING_FUNDS),
        "created_at": order["created_at"],
        "updated_at": order["created_at"],
    }
    if paid:
        document["held_at"] = order["created_at"]
    return document


class OrderRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._orders = database[Collections.ORDERS]
        self._escrows = database[Collections.ESCROWS]
        self._orders_namespace = database.namespace(Collections.ORDERS)
        self._escrows_namespace = database.namespace(Collections.ESCROWS)

    # Opening

    def opening_writes(
        self, order: Document | None, escrows: Sequence[Document]
    ) -> list[InsertOne[Document]]:
        """The inserts of a new order (unless `insert_order` sent it) and its escrows; an order
        that exists collides on `_id`."""
        inserts = [InsertOne(escrow, namespace=self._escrows_namespace) for escrow in escrows]
        return inserts if order is None else [InsertOne(order, namespace=self._orders_namespace), *inserts]

    async def insert_order(self, session: AsyncClientSession, order: Document) -> None:
        await self._orders.insert_one(order, session=session)

    async def attach_payment_intent(self, order_id: str, payment_intent_id: str) -> None:
        await self._orders.update_one(
            {"_id": order_id, "payment_intent_id": {"$exists": False}},
            {"$set": {"payment_intent_id": payment_intent_id}},
        )

    # Reading

    async def get(self, order_id: str) -> Order | None:
        document = await self._orders.find_one({"_id": order_id})
        return as_order(document) if document else None

    async def escrows_of(self, order_id: str, *, seller_id: str | None = None) -> list[Escrow]:
        query: dict[str, Any] = {"order_id": order_id}
        if seller_id is not None:
            query["seller_id"] = seller_id
        cursor = self._escrows.find(query).sort("seller_id", ASCENDING)
        return [as_escrow(document) async for document in cursor]

    async def escrow(self, escrow_id: str, session: AsyncClientSession | None = None) -> Escrow | None:
        document = await self._escrows.find_one({"_id": escrow_id}, session=session)
        return as_escrow(document) if document else None

    async def page(self, buyer_id: str, limit: int, starting_after: str | None) -> OrderPage:
        """A buyer's orders, newest first, after the order `starting_after` (theirs)."""
        query: dict[str, Any] = {"buyer_id": buyer_id}
        if starting_after is not None:
            anchor = await self._orders.find_one(
                {"_id": starting_after, "buyer_id": buyer_id}, {LIST_KEY: True}
            )
            if anchor is None:
                raise UnknownCursor(f"starting_after: no order {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._orders.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return OrderPage(data=[as_order(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def unpaid_before(self, cutoff: datetime) -> AsyncIterator[Order]:
        """Orders still awaiting payment that were opened before `cutoff`, oldest first."""
        query = {"status": str(OrderStatus.AWAITING_PAYMENT), "created_at": {"$lt": cutoff}}
        async for document in self._orders.find(query).sort("created_at", ASCENDING):
            yield as_order(document)

    async def unreleased_escrow_accounts(self, seller_id: str, currency: str) -> list[str]:
        """The ledger accounts of the seller's escrows that hold or await money (not released,
        transferred or canceled)."""
        query = {
            "seller_id": seller_id,
            "status": {"$in": [str(EscrowStatus.AWAITING_FUNDS), str(EscrowStatus.HELD)]},
            "currency": currency,
        }
        cursor = self._escrows.find(query, {"order_id": True})
        return [Accounts.escrow(document["order_id"], seller_id) async for document in cursor]

    async def held_before(self, cutoff: datetime) -> AsyncIterator[Escrow]:
        """Escrows held since before `cutoff`, longest held first."""
        query = {"status": str(EscrowStatus.HELD), "held_at": {"$lt": cutoff}}
        async for document in self._escrows.find(query).sort("held_at", ASCENDING):
            yield as_escrow(document)

    # Paying and canceling

    async def mark_paid(
        self,
        session: AsyncClientSession,
        order_id: str,
        payment_intent_id: str,
        charge_id: str | None,
        now: datetime,
    ) -> bool:
        """awaiting_payment → paid, and its escrows awaiting_funds → held; whether it moved."""
        fields: Document = {
            "status": str(OrderStatus.PAID),
            "payment_intent_id": payment_intent_id,
            "paid_at": now,
        }
        if charge_id is not None:
            fields["charge_id"] = charge_id
        moved = await self._orders.update_one(
            {"_id": order_id, "status": str(OrderStatus.AWAITING_PAYMENT)},
            {"$set": {**fields, "updated_at": now}},
            session=session,
        )
        if not moved.modified_count:
            return False
        held: Document = {"status": str(EscrowStatus.HELD), "held_at": now, "updated_at": now}
        if charge_id is not None:
            held["charge_id"] = charge_id
        await self._escrows.update_many(
            {"order_id": order_id, "status": str(EscrowStatus.AWAITING_FUNDS)},
            {"$set": held},
            session=session,
        )
        return True

    async def mark_canceled(
        self, session: AsyncClientSession, order_id: str, reason: str, now: datetime
    ) -> bool:
        """awaiting_payment → canceled, and its escrows awaiting_funds → canceled; whether it moved."""
        moved = await self._orders.update_one(
            {"_id": order_id, "status": str(OrderStatus.AWAITING_PAYMENT)},
            {
                "$set": {
                    "status": str(OrderStatus.CANCELED),
                    "canceled_at": now,
                    "cancel_reason": reason,
                    "updated_at": now,
                }
            },
            session=session,
        )
        if not moved.modified_count:
            return False
        await self._escrows.update_many(
            {"order_id": order_id, "status": str(EscrowStatus.AWAITING_FUNDS)},
            {"$set": {"status": str(EscrowStatus.CANCELED), "updated_at": now}},
            session=session,
        )
        return True

    # Releasing

    def release_write(
        self,
        escrow_id: str,
        refunded: Funding,
        source: EscrowStatus,
        target: EscrowStatus,
        reason: ReleaseReason,
        transfer_ids: Sequence[str],
        now: datetime,
    ) -> UpdateOne:
        """`source` → `target` (released, or transferred when nothing is to be transferred), for
        a ledger entry's last command; an escrow not in `source`, or refunded from meanwhile (its
        fee and net are no longer what the entry moves), aborts the transaction (module)."""
        fields = {
            "status": str(target),
            "released_at": now,
            "release_reason": str(reason),
            "transfer_ids": list(transfer_ids),
            "updated_at": now,
        }
        return UpdateOne(
            {"_id": escrow_id, "status": str(source), **_refunded_filter(refunded)},
            {"$set": fields},
            upsert=True,
            namespace=self._escrows_namespace,
        )

    def transferred_write(
        self, escrow_id: str, stripe_transfer_ids: Sequence[str], now: datetime
    ) -> UpdateOne:
        """released → transferred once its last transfer is made, for a ledger entry's last
        command; aborts the transaction unless the escrow is `released` (module), which it is
        until its transfers are all made: nothing else moves an escrow out of `released`."""
        return UpdateOne(
            {"_id": escrow_id, "status": str(EscrowStatus.RELEASED)},
            {
                "$set": {"status": str(EscrowStatus.TRANSFERRED), "updated_at": now},
                "$addToSet": {"stripe_transfer_ids": {"$each": list(stripe_transfer_ids)}},
            },
            upsert=True,
            namespace=self._escrows_namespace,
        )

    def stripe_transfer_write(self, escrow_id: str, stripe_transfer_id: str, now: datetime) -> UpdateOne:
        """A transfer made for an escrow that still waits for another one."""
        return UpdateOne(
            {"_id": escrow_id},
            {"$addToSet": {"stripe_transfer_ids": stripe_transfer_id}, "$set": {"updated_at": now}},
            namespace=self._escrows_namespace,
        )

    # Disputes and refunds

    async def move_escrow(
        self,
        session: AsyncClientSession,
        escrow: Escrow,
        target: EscrowStatus,
        now: datetime,
        **fields: Any,
    ) -> bool:
        """`escrow.status` → `target` with `fields`, if it is still as read (status and refunds);
        whether it moved."""
        moved = await self._escrows.update_one(
            {"_id": escrow.id, "status": str(escrow.status), **_refunded_filter(escrow.refunded)},
            {"$set": {**fields, "status": str(target), "updated_at": now}},
            session=session,
        )
        return moved.modified_count == 1


def _refunded_filter(refunded: Funding) -> Document:
    return {f"refunded.{source}": amount for source, amount in funding_document(refunded).items()}


def _line_document(line: OrderLine) -> Document:
    return {
        "product_id": line.product_id,
        "title": line.title,
        "seller_id": line.seller_id,
        "unit_amount": line.unit_amount,
        "quantity": line.quantity,
        "line_total": line.line_total,
    }


def funding_document(funding: Funding) -> Document:
    return {"legacy": funding.legacy, "wallet": funding.wallet, "card": funding.card}


def _funding(document: Document) -> Funding:
    return Funding(legacy=document["legacy"], wallet=document["wallet"], card=document["card"])


def as_order(document: Document) -> Order:
    return Order(
        id=document["_id"],
        buyer_id=document["buyer_id"],
        status=OrderStatus(document["status"]),
        currency=document["currency"],
        lines=tuple(OrderLine(**line) for line in document["lines"]),
        total=document["total"],
        funding=_funding(document["funding"]),
        fingerprint=document["fingerprint"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        payment_intent_id=document.get("payment_intent_id"),
        charge_id=document.get("charge_id"),
        paid_at=document.get("paid_at"),
        canceled_at=document.get("canceled_at"),
        cancel_reason=document.get("cancel_reason"),
    )


def as_escrow(document: Document) -> Escrow:
    reason = document.get("release_reason")
    return Escrow(
        id=document["_id"],
        order_id=document["order_id"],
        buyer_id=document["buyer_id"],
        seller_id=document["seller_id"],
        currency=document["currency"],
        gross=document["gross"],
        fee=document["fee"],
        net=document["net"],
        funding=_funding(document["funding"]),
        status=EscrowStatus(document["status"]),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        charge_id=document.get("charge_id"),
        held_at=document.get("held_at"),
        released_at=document.get("released_at"),
        release_reason=ReleaseReason(reason) if reason else None,
        transfer_ids=tuple(document.get("transfer_ids", ())),
        stripe_transfer_ids=tuple(document.get("stripe_transfer_ids", ())),
        refunded=_funding(document["refunded"]) if "refunded" in document else Funding(),
    )
