"""The `notifications` collection (what admins see) and its `notification_outbox` (what is still
to be POSTed to the notification URL), written together in the transaction of their cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.disputes import list_key
from app.domain.notifications import DeliveryStatus, NotificationKind
from app.errors import UnknownCursor

LIST_KEY = "list_key"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.NOTIFICATIONS: [
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("read", ASCENDING), (LIST_KEY, DESCENDING)]),
    ],
    Collections.NOTIFICATION_OUTBOX: [IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)])],
}


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    kind: NotificationKind
    subject_type: str
    subject_id: str
    title: str
    facts: dict[str, Any]
    created_at: datetime
    read: bool = False
    read_at: datetime | None = None
    read_by: str | None = None
    delivery: DeliveryStatus | None = None


@dataclass(frozen=True, slots=True)
class NotificationPage:
    data: list[Notification]
    has_more: bool


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: str
    payload: dict[str, Any]
    attempts: int


class NotificationRepository:
    def __init__(self, database: Database) -> None:
        self._notifications = database[Collections.NOTIFICATIONS]
        self._outbox = database[Collections.NOTIFICATION_OUTBOX]

    async def insert(self, session: AsyncClientSession, document: Document, outbox: Document | None) -> None:
        """The notification (once: its id says what about) and its outbox entry."""
        await self._notifications.insert_one(document, session=session)
        if outbox is not None:
            await self._outbox.insert_one(outbox, session=session)

    async def mark_read(
        self, session: AsyncClientSession, notification_id: str, admin_id: str, now: datetime
    ) -> Notification | None:
        """Read by `admin_id` now, unless read before (who read it first stays); the notification
        as read now, or None when it was not unread."""
        document = await self._notifications.find_one_and_update(
            {"_id": notification_id, "read": False},
            {"$set": {"read": True, "read_at": now, "read_by": admin_id}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return as_notification(document) if document else None

    async def get(self, notification_id: str) -> Notification | None:
        document = await self._notifications.find_one({"_id": notification_id})
        return as_notification(document) if document else None

    async def page(self, unread: bool | None, limit: int, starting_after: str | None) -> NotificationPage:
        query: dict[str, Any] = {} if unread is None else {"read": not unread}
        if starting_after is not None:
            anchor = await self._notifications.find_one({"_id": starting_after, **query}, {LIST_KEY: True})
            if anchor is None:
                raise UnknownCursor(f"starting_after: no notification {starting_after} in this list")
            query[LIST_KEY] = {"$lt": anchor[LIST_KEY]}
        cursor = self._notifications.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return NotificationPage(
            data=[as_notification(d) for d in documents[:limit]], has_more=len(documents) > limit
        )

    # The outbox

    async def claim_due(self, now: datetime, hold_until: datetime) -> OutboxEntry | None:
        """The next entry due, held until `hold_until` for this caller (one sender per entry)."""
        document = await self._outbox.find_one_and_update(
            {"status": str(DeliveryStatus.PENDING), "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": hold_until}, "$inc": {"attempts": 1}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return None
        return OutboxEntry(document["_id"], document["payload"], document["attempts"])

    async def delivered(self, entry: OutboxEntry, now: datetime) -> None:
        await self._settle(entry, DeliveryStatus.DELIVERED, now, {"delivered_at": now})

    async def retry_at(self, entry: OutboxEntry, when: datetime, error: str) -> None:
        await self._outbox.update_one(
            {"_id": entry.id, "attempts": entry.attempts},
            {"$set": {"next_attempt_at": when, "last_error": error}},
        )

    async def failed(self, entry: OutboxEntry, now: datetime, error: str) -> None:
        await self._settle(entry, DeliveryStatus.FAILED, now, {"last_error": error})

    async def _settle(
        self, entry: OutboxEntry, status: DeliveryStatus, now: datetime, fields: Document
    ) -> None:
        await self._outbox.update_one(
            {"_id": entry.id, "attempts": entry.attempts},
            {"$set": {"status": str(status), "updated_at": now, **fields}},
        )
        await self._notifications.update_one({"_id": entry.id}, {"$set": {"delivery": str(status)}})


def as_notification(document: Document) -> Notification:
    delivery = document.get("delivery")
    return Notification(
        id=document["_id"],
        kind=NotificationKind(document["kind"]),
        subject_type=document["subject_type"],
        subject_id=document["subject_id"],
        title=document["title"],
        facts=document["facts"],
        created_at=document["created_at"],
        read=document["read"],
        read_at=document.get("read_at"),
        read_by=document.get("read_by"),
        delivery=DeliveryStatus(delivery) if delivery else None,
    )


def notification_document(
    notification_id: str,
    kind: NotificationKind,
    subject_type: str,
    subject_id: str,
    title: str,
    facts: dict[str, Any],
    now: datetime,
    *,
    delivered_outside: bool,
) -> Document:
    return {
        "_id": notification_id,
        "kind": str(kind),
        "subject_type": subject_type,
        "subject_id": subject_id,
        "title": title,
        "facts": facts,
        "created_at": now,
        "read": False,
        "delivery": str(DeliveryStatus.PENDING) if delivered_outside else None,
        LIST_KEY: list_key(now, notification_id),
    }


def outbox_document(notification: Document, now: datetime) -> Document:
    payload = {
        "id": notification["_id"],
        "kind": notification["kind"],
        "subject": {"type": notification["subject_type"], "id": notification["subject_id"]},
        "title": notification["title"],
        "facts": notification["facts"],
        "created_at": now.isoformat(),
    }
    return {
        "_id": notification["_id"],
        "payload": payload,
        "status": str(DeliveryStatus.PENDING),
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
