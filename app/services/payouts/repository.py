"""The `payouts` collection: every payout of a seller's connected account, ours or made at Stripe.

One document per payout. A payout requested here is inserted `requested` before Stripe is called
(its id from the requester and their `Idempotency-Key`); one made at Stripe directly is inserted
when its first event arrives (its id from Stripe's). Stripe's view of the payout (status, arrival,
failure) is stored by read tickets (`app.services.webhooks.reserve_read`), in the transaction
that posts the ledger entries it calls for, so the books follow the stored state exactly;
`ledger` records which entries are posted.

The last balance read from Stripe for each connected account is kept in `seller_balances`, the
figure a balance page answers when Stripe is slow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import Payout
from app.db import Collections, Database, Document
from app.domain.payouts import ON_THE_WAY, LedgerState, PayoutOrigin, PayoutStatus, list_key
from app.errors import UnknownCursor
from app.services.webhooks import reserve_read, stored_read_fields, unless_later_read_stored

LIST_KEY = "list_key"
NOTHING_POSTED = LedgerState()

INDEXES: dict[str, list[IndexModel]] = {
    Collections.PAYOUTS: [
        # A seller's history, newest first.
        IndexModel([("seller_id", ASCENDING), (LIST_KEY, DESCENDING)]),
        # What is on its way to a seller's bank.
        IndexModel([("seller_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("stripe_payout_id", ASCENDING)], unique=True, sparse=True),
    ],
}


@dataclass(frozen=True, slots=True)
class PayoutRecord:
    id: str
    seller_id: str
    account_id: str
    amount: int
    currency: str
    status: PayoutStatus
    origin: PayoutOrigin
    created_at: datetime
    updated_at: datetime
    stripe_payout_id: str | None = None
    arrival_date: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    automatic: bool = False
    ledger: LedgerState = NOTHING_POSTED

    @property
    def payout_id(self) -> str:
        return self.id

    @property
    def failure_reason(self) -> str | None:
        """Why it failed, as a sentence (stored so: Stripe's message, or the code's meaning)."""
        return self.failure_message


@dataclass(frozen=True, slots=True)
class PayoutPage:
    data: list[PayoutRecord]
    has_more: bool


@dataclass(frozen=True, slots=True)
class StripeView:
    """What one read of the payout from Stripe found."""

    status: PayoutStatus
    arrival_date: datetime
    failure_code: str | None
    failure_message: str | None


@dataclass(frozen=True, slots=True)
class BalanceReading:
    """A connected account's Stripe balance in one currency, and when it was read."""

    available: int
    pending: int
    next_available_on: datetime | None
    read_at: datetime


def requested_document(
    payout_id: str,
    seller_id: str,
    account_id: str,
    amount: int,
    currency: str,
    requested_by: str,
    now: datetime,
) -> Document:
    return {
        "_id": payout_id,
        "seller_id": seller_id,
        "account_id": account_id,
        "amount": amount,
        "currency": currency,
        "status": str(PayoutStatus.REQUESTED),
        "origin": str(PayoutOrigin.API),
        "requested_by": requested_by,
        "ledger": {"paid": False, "failure": False},
        "created_at": now,
        "updated_at": now,
        LIST_KEY: list_key(now, payout_id),
    }


def outside_document(
    payout_id: str, seller_id: str, account_id: str, payout: Payout, now: datetime
) -> Document:
    """A payout made at Stripe directly, as its first event shows it (its state is read next)."""
    created = datetime.fromtimestamp(payout.created, now.tzinfo)
    return {
        "_id": payout_id,
        "seller_id": seller_id,
        "account_id": account_id,
        "amount": payout.amount,
        "currency": payout.currency,
        "status": str(PayoutStatus.REQUESTED),
        "origin": str(PayoutOrigin.STRIPE),
        "stripe_payout_id": payout.id,
        "automatic": payout.automatic,
        "ledger": {"paid": False, "failure": False},
        "created_at": created,
        "updated_at": now,
        LIST_KEY: list_key(created, payout_id),
    }


class PayoutRepository:
    def __init__(self, database: Database) -> None:
        self._payouts = database[Collections.PAYOUTS]
        self._namespace = database.namespace(Collections.PAYOUTS)
        self._balances = database[Collections.SELLER_BALANCES]

    async def insert(self, session: AsyncClientSession, document: Document) -> bool:
        """Insert a new payout; False if one with its id (or its Stripe payout's) exists."""
        try:
            await self._payouts.insert_one(document, session=session)
        except DuplicateKeyError:
            return False
        return True

    def insert_write(self, document: Document) -> InsertOne[Document]:
        """The insert of a new payout, for the caller's `write_together`; one with its id
        collides (DuplicateKeyError)."""
        return InsertOne(document, namespace=self._namespace)

    async def get(self, payout_id: str, session: AsyncClientSession | None = None) -> PayoutRecord | None:
        document = await self._payouts.find_one({"_id": payout_id}, session=session)
        return as_payout(document) if document else None

    async def by_stripe_id(self, stripe_payout_id: str) -> PayoutRecord | None:
        document = await self._payouts.find_one({"stripe_payout_id": stripe_payout_id})
        return as_payout(document) if document else None

    async def by_stripe_ids(self, stripe_payout_ids: Sequence[str]) -> dict[str, PayoutRecord]:
        """The payouts of these Stripe ids that we have, by Stripe id, in one read."""
        cursor = self._payouts.find({"stripe_payout_id": {"$in": list(stripe_payout_ids)}})
        return {document["stripe_payout_id"]: as_payout(document) async for document in cursor}

    def created_between(self, seller_id: str, start: datetime, end: datetime) -> AsyncIterator[PayoutRecord]:
        """A seller's payouts recorded from `start` (included) to `end` (excluded), oldest first,
        streamed (their list key starts with the time: the seller's list index serves the range)."""
        window = {"$gte": list_key(start, ""), "$lt": list_key(end, "")}
        cursor = self._payouts.find({"seller_id": seller_id, LIST_KEY: window}).sort(LIST_KEY, ASCENDING)
        return (as_payout(document) async for document in cursor)

    async def attach_stripe_id(self, payout_id: str, stripe_payout_id: str) -> None:
        await self._payouts.update_one(
            {"_id": payout_id, "stripe_payout_id": {"$exists": False}},
            {"$set": {"stripe_payout_id": stripe_payout_id}},
        )

    # Stripe's view, by read tickets

    async def reserve_read(self, payout_id: str) -> int:
        return await reserve_read(self._payouts, payout_id)

    async def store_read(
        self,
        session: AsyncClientSession,
        payout_id: str,
        ticket: int,
        stripe_payout_id: str,
        view: StripeView,
        ledger: LedgerState,
    ) -> bool:
        """Store what a read under `ticket` found, unless a later read is stored; whether stored."""
        fields: dict[str, Any] = {
            "stripe_payout_id": stripe_payout_id,
            "status": str(view.status),
            "arrival_date": view.arrival_date,
            "failure_code": view.failure_code,
            "failure_message": view.failure_message,
            "ledger": {"paid": ledger.paid, "failure": ledger.failure},
        }
        stored = await self._payouts.update_one(
            unless_later_read_stored(payout_id, ticket),
            {"$set": stored_read_fields(fields, ticket)},
            session=session,
        )
        return stored.modified_count == 1

    async def refuse(
        self, session: AsyncClientSession, payout_id: str, code: str, message: str, now: datetime
    ) -> bool:
        """requested → failed: Stripe refused to make the payout; whether it moved."""
        moved = await self._payouts.update_one(
            {"_id": payout_id, "status": str(PayoutStatus.REQUESTED), "stripe_payout_id": {"$exists": False}},
            {
                "$set": {
                    "status": str(PayoutStatus.FAILED),
                    "failure_code": code,
                    "failure_message": message,
                    "updated_at": now,
                }
            },
            session=session,
        )
        return moved.modified_count == 1

    # Reading

    async def on_the_way(self, seller_id: str, currency: str) -> int:
        """What is on its way to the seller's bank, in `currency`."""
        pipeline: list[dict[str, Any]] = [
            {
                "$match": {
                    "seller_id": seller_id,
                    "status": {"$in": [str(status) for status in ON_THE_WAY]},
                    "currency": currency,
                }
            },
            {"$group": {"_id": None, "amount": {"$sum": "$amount"}}},
        ]
        rows = await (await self._payouts.aggregate(pipeline)).to_list()
        return int(rows[0]["amount"]) if rows else 0

    async def page(self, seller_id: str, limit: int, starting_after: str | None) -> PayoutPage:
        """A seller's payouts newest first, after the payout `starting_after` (theirs)."""
        query: dict[str, Any] = {"seller_id": seller_id}
        if starting_after is not None:
            anchor = await self._payouts.find_one(
                {"_id": starting_after, "seller_id": seller_id}, {LIST_KEY: True}
            )
            if anchor is None:
                raise UnknownCursor(f"starting_after: no payout {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._payouts.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return PayoutPage(data=[as_payout(d) for d in documents[:limit]], has_more=len(documents) > limit)

    # The last balance read from Stripe

    async def remember_balance(self, account_id: str, currency: str, reading: BalanceReading) -> None:
        # A slower read landing after a fresher one must not replace it (the upsert collides).
        with suppress(DuplicateKeyError):
            await self._balances.update_one(
                {"_id": f"{account_id}:{currency}", "read_at": {"$lt": reading.read_at}},
                {
                    "$set": {
                        "available": reading.available,
                        "pending": reading.pending,
                        "next_available_on": reading.next_available_on,
                        "read_at": reading.read_at,
                    }
                },
                upsert=True,
            )

    async def last_balance(self, account_id: str, currency: str) -> BalanceReading | None:
        document = await self._balances.find_one({"_id": f"{account_id}:{currency}"})
        if document is None:
            return None
        return BalanceReading(
            available=document["available"],
            pending=document["pending"],
            next_available_on=document.get("next_available_on"),
            read_at=document["read_at"],
        )


def as_payout(document: Document) -> PayoutRecord:
    ledger = document.get("ledger") or {}
    return PayoutRecord(
        id=document["_id"],
        seller_id=document["seller_id"],
        account_id=document["account_id"],
        amount=document["amount"],
        currency=document["currency"],
        status=PayoutStatus(document["status"]),
        origin=PayoutOrigin(document["origin"]),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        stripe_payout_id=document.get("stripe_payout_id"),
        arrival_date=document.get("arrival_date"),
        failure_code=document.get("failure_code"),
        failure_message=document.get("failure_message"),
        automatic=document.get("automatic", False),
        ledger=LedgerState(paid=ledger.get("paid", False), failure=ledger.get("failure", False)),
    )
