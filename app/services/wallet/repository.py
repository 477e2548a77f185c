"""The `topups` collection: one document per card top-up, moved through its states by
compare-and-set updates that name the states it may come from; and `topup_openings`, one
document per buyer listing the top-ups it let open, which holds a buyer to the open top-up limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document, NamespacedWrite
from app.domain.money import Money
from app.domain.wallet import TopupAlreadyOpened, TopupStatus, sources_of, topup_list_key
from app.errors import UnknownCursor

LIST_KEY = "list_key"
# Of the ways a full list of openings may be retried after making room (a race may take it).
OPEN_ATTEMPTS = 3
# An id on a buyer's list whose top-up does not exist yet belongs to an opening still under way,
# unless the list has not changed for this long: that opening died between its two writes.
UNFINISHED_OPENING_GRACE = timedelta(minutes=1)

INDEXES: dict[str, list[IndexModel]] = {
    Collections.TOPUPS: [
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("currency", ASCENDING)]),
        IndexModel([("payment_intent_id", ASCENDING)], sparse=True),
        # The admin list: newest first, alone or by status.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        # The expiry job: top-ups awaiting payment, oldest first.
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)]),
    ],
}


class Opening(Enum):
    """What opening a top-up did."""

    REFUSED = "refused"  # the buyer already holds the most top-ups awaiting payment
    OPENED = "opened"  # open (now, or as an earlier request left it), the writes along with it written
    OPENED_BEFORE = "opened_before"  # open since an earlier request; the writes along were not written now


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
        self._db = database
        self._topups = database[Collections.TOPUPS]
        self._openings = database[Collections.TOPUP_OPENINGS]
        self._topups_namespace = database.namespace(Collections.TOPUPS)
        self._openings_namespace = database.namespace(Collections.TOPUP_OPENINGS)

    async def open(
        self,
        topup_id: str,
        user_id: str,
        amount: Money,
        max_open: int,
        along: Sequence[NamespacedWrite] = (),
    ) -> Opening:
        """Create the top-up awaiting payment, unless the buyer already holds `max_open` awaiting
        payment (REFUSED). Opening it again for the same buyer and amount changes nothing and is
        no new opening; for another amount or currency it raises TopupAlreadyOpened. `along`: the
        writes that go with the opening (its PaymentIntent call recorded), sent after the top-up
        in the same command; a duplicate key among them means an earlier request wrote them.

        The buyer's `topup_openings` document lists the top-ups it let open that may still await
        payment. One command adds this top-up to that list, only if the list has room or holds it
        already, then creates the top-up, and stops before the top-up if the list refused: an
        update of one document is atomic, so racing openings of one buyer cannot pass the limit
        together, and every top-up awaiting payment is on its buyer's list. Top-ups that moved on
        leave the list only once it is full (`_make_room`), so the usual opening is that one command.
        """
        now = datetime.now(UTC)
        for _ in range(OPEN_ATTEMPTS):
            opening = await self._admit_and_create(topup_id, user_id, amount, max_open, now, along)
            if opening is not Opening.REFUSED:
                return opening
            decided = await self._make_room(topup_id, user_id, amount, max_open, now)
            if decided is not None:
                return Opening.OPENED_BEFORE if decided else Opening.REFUSED
        return Opening.REFUSED

    async def _admit_and_create(
        self,
        topup_id: str,
        user_id: str,
        amount: Money,
        max_open: int,
        now: datetime,
        along: Sequence[NamespacedWrite],
    ) -> Opening:
        """One command: the top-up onto the buyer's list, then the top-up itself, then `along`;
        REFUSED when the list refused it (or a first opening raced another for the list's creation)."""
        admit = UpdateOne(
            {"_id": user_id, "$or": [{"open": topup_id}, {f"open.{max_open - 1}": {"$exists": False}}]},
            {"$addToSet": {"open": topup_id}, "$set": {"last_opened_at": now}},
            upsert=True,  # a full list does not match, and the insert then collides on _id
            namespace=self._openings_namespace,
        )
        # A top-up that exists with other values does not match, so the upsert collides on _id.
        same = {"_id": topup_id, "user_id": user_id, "amount": amount.amount, "currency": amount.currency}
        create = UpdateOne(
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
            namespace=self._topups_namespace,
        )
        try:
            await self._db.write_together([admit, create, *along])
        except DuplicateKeyError as exc:
            collided = (exc.details or {}).get("idx", 0)  # the place of the write that collided
            if collided == 1:
                raise _already_opened(topup_id) from exc
            return Opening.OPENED_BEFORE if collided > 1 else Opening.REFUSED
        return Opening.OPENED

    async def _make_room(
        self, topup_id: str, user_id: str, amount: Money, max_open: int, now: datetime
    ) -> bool | None:
        """The buyer's list refused the top-up: drop from it the top-ups that no longer await
        payment. True when this top-up exists already (no new opening), False when the list stays
        full, None when opening may be tried again."""
        openings = await self._openings.find_one({"_id": user_id})
        listed: list[str] = openings.get("open", []) if openings else []
        if len(listed) < max_open:
            return None  # the list changed since: try again
        fields = {"status": True, "user_id": True, "amount": True, "currency": True}
        found = {d["_id"]: d async for d in self._topups.find({"_id": {"$in": [*listed, topup_id]}}, fields)}
        if topup_id in found:
            existing = found[topup_id]
            if (existing["user_id"], existing["amount"], existing["currency"]) != (
                user_id,
                amount.amount,
                amount.currency,
            ):
                raise _already_opened(topup_id)
            return True
        under_way = openings is not None and openings["last_opened_at"] > now - UNFINISHED_OPENING_GRACE
        still_open = [
            listed_id
            for listed_id in listed
            if (listed_id in found and found[listed_id]["status"] == TopupStatus.REQUIRES_PAYMENT)
            or (listed_id not in found and under_way)
        ]
        if len(still_open) >= max_open:
            return False
        await self._openings.update_one({"_id": user_id, "open": listed}, {"$set": {"open": still_open}})
        return None

    async def unpaid_opened_before(self, cutoff: datetime) -> AsyncIterator[Topup]:
        """Top-ups still awaiting payment that were opened before `cutoff`, oldest first."""
        query = {"status": str(TopupStatus.REQUIRES_PAYMENT), "created_at": {"$lt": cutoff}}
        async for document in self._topups.find(query).sort("created_at", ASCENDING):
            yield _topup(document)

    async def attach_payment_intent(
        self, session: AsyncClientSession, topup_id: str, payment_intent_id: str
    ) -> bool:
        """Record the PaymentIntent of a top-up awaiting payment that has none yet; whether it
        did (the first request; a retry finds it recorded, or the top-up moved on)."""
        attached = await self._topups.update_one(
            {
                "_id": topup_id,
                "status": str(TopupStatus.REQUIRES_PAYMENT),
                "payment_intent_id": {"$exists": False},
            },
            {"$set": {"payment_intent_id": payment_intent_id, "updated_at": datetime.now(UTC)}},
            session=session,
        )
        return attached.modified_count == 1

    async def learn_payment_intent(
        self, topup_id: str, payment_intent_id: str, session: AsyncClientSession
    ) -> Document | None:
        """Record a PaymentIntent learnt after the request; the top-up's fields before, or None
        when it already had that intent (or does not exist)."""
        return await self._topups.find_one_and_update(
            {"_id": topup_id, "payment_intent_id": {"$ne": payment_intent_id}},
            {"$set": {"payment_intent_id": payment_intent_id, "updated_at": datetime.now(UTC)}},
            projection={"payment_intent_id": True, "status": True},
            session=session,
        )

    async def get(self, topup_id: str, owner: str | None = None) -> Topup | None:
        query = {"_id": topup_id} if owner is None else {"_id": topup_id, "user_id": owner}
        document = await self._topups.find_one(query)
        return _topup(document) if document else None

    async def count(self, status: TopupStatus) -> int:
        return await self._topups.count_documents({"status": str(status)})

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
    ) -> TopupStatus | None:
        """Move the top-up to `succeeded` if it is this buyer's, for exactly `paid`, and may go
        there; the status it left, or None when it did not move. Its match checks it all."""
        paid_by = {"_id": topup_id, "user_id": user_id, "amount": paid.amount, "currency": paid.currency}
        fields = {"status": str(TopupStatus.SUCCEEDED), "payment_intent_id": payment_intent_id}
        return await self._move_from_each_source(paid_by, TopupStatus.SUCCEEDED, fields, session)

    async def move(
        self,
        topup_id: str,
        target: TopupStatus,
        payment_intent_id: str | None,
        session: AsyncClientSession,
        *,
        review_reason: str | None = None,
    ) -> TopupStatus | None:
        """Move the top-up to `target` if it may go there from where it is; the status it left,
        or None when it did not move."""
        fields: dict[str, Any] = {"status": str(target)}
        if payment_intent_id is not None:
            fields["payment_intent_id"] = payment_intent_id
        if review_reason is not None:
            fields["review_reason"] = review_reason
        return await self._move_from_each_source({"_id": topup_id}, target, fields, session)

    async def _move_from_each_source(
        self, match: Document, target: TopupStatus, fields: Document, session: AsyncClientSession
    ) -> TopupStatus | None:
        """One compare-and-set update per status `target` may come from, the usual one first
        (`requires_payment`), until one moves the top-up: the status it left, told by which
        update moved it. A findAndModify would say it in one command, but costs SecantusDB about
        three times an update, and the usual move is one update this way."""
        for source in sources_of(target):
            moved = await self._topups.update_one(
                {**match, "status": source},
                {"$set": {**fields, "updated_at": datetime.now(UTC)}},
                session=session,
            )
            if moved.modified_count:
                return TopupStatus(source)
        return None


def _already_opened(topup_id: str) -> TopupAlreadyOpened:
    return TopupAlreadyOpened(
        f"top-up {topup_id} was opened for another amount or currency", topup_id=topup_id
    )


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
