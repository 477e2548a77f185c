"""The `seller_transfers` collection: each Stripe transfer a released escrow owes its seller.

One document per (escrow, part) (`app.domain.checkout.transfer_parts`), made when the escrow is
released. `attempt` numbers the Stripe requests: each attempt has its own idempotency key, and a
new attempt is claimed only once the previous one was refused for sure, because Stripe replays a
refusal under its key for a day. Status changes are compare-and-set on (status, attempt), sent as
upserts that abort their transaction when they do not match (see `repository`).

Stripe's own view of a made transfer (`amount_reversed`) is mirrored by read tickets
(`app.services.webhooks.reserve_read`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.checkout import TransferPart, TransferStatus, list_key
from app.errors import UnknownCursor
from app.services.webhooks import reserve_read, store_read

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.SELLER_TRANSFERS: [
        # Sellers with transfers waiting for them to be able to receive, and those of one seller.
        IndexModel([("status", ASCENDING), ("seller_id", ASCENDING)]),
        # Retries, and transfers whose answer was lost: oldest first.
        IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)]),
        # The admin list, newest first, alone or by status.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("stripe_transfer_id", ASCENDING)], sparse=True),
    ],
}


@dataclass(frozen=True, slots=True)
class SellerTransfer:
    id: str
    escrow_id: str
    order_id: str
    seller_id: str
    part: TransferPart
    amount: int
    currency: str
    status: TransferStatus
    attempt: int
    created_at: datetime
    updated_at: datetime
    escrow_transfer_ids: tuple[str, ...] = ()
    source_transaction: str | None = None
    destination: str | None = None
    stripe_transfer_id: str | None = None
    amount_reversed: int = 0
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def operation_id(self) -> str:
        """This attempt's own id, from which its Stripe idempotency key is made."""
        return f"{self.id}_{self.attempt}"


@dataclass(frozen=True, slots=True)
class TransferPage:
    data: list[SellerTransfer]
    has_more: bool


@dataclass(frozen=True, slots=True)
class WaitingTotal:
    count: int
    amount: int


def transfer_document(
    transfer_id: str,
    escrow_id: str,
    order_id: str,
    seller_id: str,
    part: TransferPart,
    amount: int,
    currency: str,
    source_transaction: str | None,
    destination: str | None,
    escrow_transfer_ids: Sequence[str],
    now: datetime,
) -> Document:
    """A new transfer: to be sent at once (attempt 1) when the seller can receive, else waiting
    for that (attempt 0: none made yet)."""
    return {
        "_id": transfer_id,
        "escrow_id": escrow_id,
        "order_id": order_id,
        "seller_id": seller_id,
        "part": str(part),
        "amount": amount,
        "currency": currency,
        "status": str(TransferStatus.PENDING if destination else TransferStatus.AWAITING_DESTINATION),
        "attempt": 1 if destination else 0,
        "source_transaction": source_transaction,
        "destination": destination,
        # Every transfer of the escrow, this one included: the last one made completes the escrow.
        "escrow_transfer_ids": list(escrow_transfer_ids),
        "amount_reversed": 0,
        "created_at": now,
        "updated_at": now,
        LIST_KEY: list_key(now, transfer_id),
    }


class TransferRepository:
    def __init__(self, database: Database) -> None:
        self._transfers = database[Collections.SELLER_TRANSFERS]
        self._namespace = database.namespace(Collections.SELLER_TRANSFERS)

    def insert_write(self, document: Document) -> InsertOne[Document]:
        return InsertOne(document, namespace=self._namespace)

    async def get(self, transfer_id: str, session: AsyncClientSession | None = None) -> SellerTransfer | None:
        document = await self._transfers.find_one({"_id": transfer_id}, session=session)
        return as_transfer(document) if document else None

    async def many(self, transfer_ids: Sequence[str]) -> dict[str, SellerTransfer]:
        """The transfers of `transfer_ids` that exist, by id, in one read."""
        cursor = self._transfers.find({"_id": {"$in": list(transfer_ids)}})
        return {document["_id"]: as_transfer(document) async for document in cursor}

    async def statuses(
        self, transfer_ids: list[str], session: AsyncClientSession
    ) -> dict[str, TransferStatus]:
        cursor = self._transfers.find({"_id": {"$in": transfer_ids}}, {"status": True}, session=session)
        return {document["_id"]: TransferStatus(document["status"]) async for document in cursor}

    # Compare-and-set moves, each for a transaction's last command

    async def claim(
        self, session: AsyncClientSession, transfer: SellerTransfer, destination: str, now: datetime
    ) -> bool:
        """A waiting transfer → pending, as a new attempt to `destination`; whether it moved."""
        fields = {
            "status": str(TransferStatus.PENDING),
            "attempt": transfer.attempt + 1,
            "destination": destination,
            "failure": None,
            "updated_at": now,
        }
        return await self._compare_and_set(session, transfer, fields)

    async def wait(
        self,
        session: AsyncClientSession,
        transfer: SellerTransfer,
        target: TransferStatus,
        code: str | None,
        message: str | None,
        now: datetime,
    ) -> bool:
        """pending (this attempt) → waiting or failed, with Stripe's reason; whether it moved."""
        failure = {"code": code, "message": message} if code else None
        return await self._compare_and_set(
            session, transfer, {"status": str(target), "failure": failure, "updated_at": now}
        )

    async def _compare_and_set(
        self, session: AsyncClientSession, transfer: SellerTransfer, fields: Document
    ) -> bool:
        current = {"_id": transfer.id, "status": str(transfer.status), "attempt": transfer.attempt}
        moved = await self._transfers.update_one(current, {"$set": fields}, session=session)
        return moved.modified_count == 1

    def transferred_write(
        self, transfer: SellerTransfer, stripe_transfer_id: str, now: datetime
    ) -> UpdateOne:
        return self._move(
            transfer,
            {
                "status": str(TransferStatus.TRANSFERRED),
                "stripe_transfer_id": stripe_transfer_id,
                "failure": None,
                "transferred_at": now,
                "updated_at": now,
            },
        )

    def _move(self, transfer: SellerTransfer, fields: Document) -> UpdateOne:
        current = {"_id": transfer.id, "status": str(transfer.status), "attempt": transfer.attempt}
        return UpdateOne(current, {"$set": fields}, upsert=True, namespace=self._namespace)

    # Work lists

    async def sellers_awaiting_destination(self) -> list[str]:
        return sorted(
            await self._transfers.distinct("seller_id", {"status": str(TransferStatus.AWAITING_DESTINATION)})
        )

    async def of_seller(self, seller_id: str, status: TransferStatus) -> list[SellerTransfer]:
        cursor = self._transfers.find({"status": str(status), "seller_id": seller_id})
        return [as_transfer(document) async for document in cursor]

    async def with_status(
        self, status: TransferStatus, updated_before: datetime
    ) -> AsyncIterator[SellerTransfer]:
        """Transfers in `status` untouched since `updated_before`, oldest first."""
        query = {"status": str(status), "updated_at": {"$lt": updated_before}}
        async for document in self._transfers.find(query).sort("updated_at", ASCENDING):
            yield as_transfer(document)

    async def waiting_totals(self) -> dict[TransferStatus, WaitingTotal]:
        """How many transfers, and how much, are not made yet, by status."""
        not_made = [str(s) for s in TransferStatus if s is not TransferStatus.TRANSFERRED]
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": {"$in": not_made}}},
            {"$group": {"_id": "$status", "count": {"$sum": 1}, "amount": {"$sum": "$amount"}}},
        ]
        return {
            TransferStatus(row["_id"]): WaitingTotal(row["count"], row["amount"])
            async for row in await self._transfers.aggregate(pipeline)
        }

    async def count(self, status: TransferStatus) -> int:
        return await self._transfers.count_documents({"status": str(status)})

    async def page(
        self, status: TransferStatus | None, limit: int, starting_after: str | None
    ) -> TransferPage:
        """Transfers newest first, of one status or all, after the transfer `starting_after`."""
        query: dict[str, Any] = {} if status is None else {"status": str(status)}
        if starting_after is not None:
            anchor = await self._transfers.find_one({"_id": starting_after, **query}, {LIST_KEY: True})
            if anchor is None:
                raise UnknownCursor(f"starting_after: no transfer {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        documents = await self._transfers.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return TransferPage(data=[as_transfer(d) for d in documents[:limit]], has_more=len(documents) > limit)

    # Stripe's view of a made transfer

    async def reserve_read(self, transfer_id: str) -> int:
        return await reserve_read(self._transfers, transfer_id)

    async def store_stripe_view(self, transfer_id: str, ticket: int, amount_reversed: int) -> bool:
        return await store_read(self._transfers, transfer_id, ticket, {"amount_reversed": amount_reversed})


def as_transfer(document: Document) -> SellerTransfer:
    failure = document.get("failure") or {}
    return SellerTransfer(
        id=document["_id"],
        escrow_id=document["escrow_id"],
        order_id=document["order_id"],
        seller_id=document["seller_id"],
        part=TransferPart(document["part"]),
        amount=document["amount"],
        currency=document["currency"],
        status=TransferStatus(document["status"]),
        attempt=document["attempt"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        escrow_transfer_ids=tuple(document["escrow_transfer_ids"]),
        source_transaction=document.get("source_transaction"),
        destination=document.get("destination"),
        stripe_transfer_id=document.get("stripe_transfer_id"),
        amount_reversed=document.get("amount_reversed", 0),
        failure_code=failure.get("code"),
        failure_message=failure.get("message"),
    )
