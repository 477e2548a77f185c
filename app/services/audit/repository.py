"""The audit collections: `audit_pending` (records written by the changes' transactions, not yet
chained), `audit_log` (the chain: append-only, every record sealed) and `audit_chain` (its head:
the last record's seq and hash).

A change's transaction inserts its record into `audit_pending`, a collection with no index but
its `_id`, so the hot money paths pay one small insert. The sealer moves records from there into
`audit_log` with their seal, in one transaction that also moves the head by compare-and-set:
`audit_log` is only ever inserted into, and `seq` is unique, so a seq is never given twice.

A record id is `aud_` and the time of the change (UTC, to the millisecond) then random hex: ids
sort by time, which orders both the sealer's queue and the admin list, and is the list's cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.audit import (
    EMPTY_CHAIN,
    Actor,
    ActorKind,
    AuditEvent,
    AuditObject,
    ChainHead,
    Seal,
    SealedEvent,
    State,
)
from app.errors import UnknownCursor

HEAD_ID = "head"
# The `_id` index, named where a query has no filter: some planners sort a whole scan instead.
BY_ID = [("_id", ASCENDING)]
# The admin list's filters, most selective first; a query reads the index of the first it names.
FILTERED_FIELDS = ("object.id", "actor.id", "action", "object.type")

INDEXES: dict[str, list[IndexModel]] = {
    Collections.AUDIT_LOG: [
        # The chain in order, for the verifier's walk; unique, so a seq is never given twice.
        IndexModel([("seq", ASCENDING)], unique=True),
        # The admin list, newest first (by `_id`), by each filter; unfiltered it reads `_id`'s own.
        *(IndexModel([(field, ASCENDING), ("_id", DESCENDING)]) for field in FILTERED_FIELDS),
    ],
}


class ChainMoved(RuntimeError):
    """The head or the queue changed under the sealer: its transaction must not commit."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audited change as stored; `seq`, `prev_hash` and `hash` are None until it is sealed."""

    id: str
    at: datetime
    actor: Actor
    action: str
    object: AuditObject
    before: State | None
    after: State | None
    request_id: str | None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None

    @property
    def event(self) -> AuditEvent:
        return AuditEvent(
            at=self.at,
            actor=self.actor,
            action=self.action,
            object=self.object,
            before=self.before,
            after=self.after,
            request_id=self.request_id,
        )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None

    def as_query(self) -> dict[str, Any]:
        fields = {
            "actor.id": self.actor_id,
            "object.type": self.object_type,
            "object.id": self.object_id,
            "action": self.action,
        }
        return {name: value for name, value in fields.items() if value is not None}

    def index(self) -> list[tuple[str, int]]:
        """The index to read by: with several filters, a planner may otherwise scan the collection."""
        query = self.as_query()
        leading = [(field, ASCENDING) for field in FILTERED_FIELDS if field in query][:1]
        return [*leading, ("_id", DESCENDING)] if leading else BY_ID


@dataclass(frozen=True, slots=True)
class AuditPage:
    data: list[AuditRecord]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Unsealed:
    count: int
    oldest_at: datetime | None


def record_id(at: datetime) -> str:
    return f"aud_{at:%Y%m%dT%H%M%S}{at.microsecond // 1000:03d}Z{uuid.uuid4().hex[:16]}"


class AuditRepository:
    def __init__(self, database: Database) -> None:
        self._namespace = database.namespace(Collections.AUDIT_PENDING)
        self._pending = database[Collections.AUDIT_PENDING]
        self._log = database[Collections.AUDIT_LOG]
        self._chain = database[Collections.AUDIT_CHAIN]

    async def insert_pending(self, session: AsyncClientSession, event: AuditEvent) -> AuditRecord:
        document = _pending_document(event)
        await self._pending.insert_one(document, session=session)
        return _record(document)

    async def insert_pending_many(self, session: AsyncClientSession, events: Sequence[AuditEvent]) -> None:
        await self._pending.insert_many([_pending_document(event) for event in events], session=session)

    def pending_insert(self, event: AuditEvent) -> InsertOne[Document]:
        """The insert `insert_pending` would send, for `Database.write_together`."""
        return InsertOne(_pending_document(event), namespace=self._namespace)

    async def head(self, session: AsyncClientSession | None = None) -> ChainHead:
        document = await self._chain.find_one({"_id": HEAD_ID}, session=session)
        return ChainHead(document["seq"], document["hash"]) if document else EMPTY_CHAIN

    async def has_pending(self) -> bool:
        return await self._pending.find_one({}, {"_id": True}) is not None

    async def pending(self, session: AsyncClientSession, limit: int) -> list[AuditRecord]:
        """The oldest records waiting to be sealed, in the order they will take in the chain."""
        cursor = self._pending.find({}, session=session, hint=BY_ID).sort("_id", ASCENDING).limit(limit)
        return [_record(document) async for document in cursor]

    async def append_sealed(self, session: AsyncClientSession, sealed: Sequence[AuditRecord]) -> None:
        """Move sealed records from the queue to the chain; each must still be waiting."""
        ids = [record.id for record in sealed]
        removed = await self._pending.delete_many({"_id": {"$in": ids}}, session=session)
        if removed.deleted_count != len(ids):
            raise ChainMoved("a record waiting to be sealed was sealed by someone else")
        await self._log.insert_many([_sealed_document(record) for record in sealed], session=session)

    async def move_head(
        self, session: AsyncClientSession, old: ChainHead, new: ChainHead, now: datetime
    ) -> None:
        """Compare-and-set of the chain's head from `old` to `new`."""
        result = await self._chain.update_one(
            {"_id": HEAD_ID, "seq": old.seq, "hash": old.hash},
            {"$set": {"seq": new.seq, "hash": new.hash, "sealed_at": now}},
            upsert=old == EMPTY_CHAIN,
            session=session,
        )
        if result.modified_count != 1 and result.upserted_id is None:
            raise ChainMoved(f"the chain head is no longer at record {old.seq}")

    async def chain_in_order(self, batch_size: int) -> AsyncIterator[Document]:
        """Every chained record, raw, by seq: a cursor, so memory does not grow with the log."""
        cursor = self._log.find({"seq": {"$gte": 0}}, batch_size=batch_size).sort("seq", ASCENDING)
        async for document in cursor:
            yield document

    async def unsealed(self) -> Unsealed:
        count = await self._pending.count_documents({})
        oldest = await self._pending.find_one({}, {"at": True}, sort=BY_ID, hint=BY_ID)
        return Unsealed(count, oldest["at"] if oldest else None)

    async def find_page(self, where: AuditFilter, limit: int, starting_after: str | None) -> AuditPage:
        """Chained records, newest first."""
        query = where.as_query()
        if starting_after is not None:
            if not await self._log.find_one({"_id": starting_after}, {"_id": True}):
                raise UnknownCursor(f"starting_after: no audit record {starting_after}")
            query["_id"] = {"$lt": starting_after}
        cursor = self._log.find(query, hint=where.index()).sort("_id", DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return AuditPage(data=[_record(d) for d in documents[:limit]], has_more=len(documents) > limit)


def _pending_document(event: AuditEvent) -> Document:
    return {"_id": record_id(event.at), **_event_document(event)}


def _event_document(event: AuditEvent) -> Document:
    return {
        "at": event.at,
        "actor": {"kind": event.actor.kind.value, "id": event.actor.id},
        "action": event.action,
        "object": {"type": event.object.type, "id": event.object.id},
        "before": _plain(event.before),
        "after": _plain(event.after),
        "request_id": event.request_id,
    }


def _sealed_document(record: AuditRecord) -> Document:
    return {
        "_id": record.id,
        "seq": record.seq,
        **_event_document(record.event),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _plain(state: State | None) -> Document | None:
    return dict(state) if state is not None else None


def _record(document: Document) -> AuditRecord:
    """A stored record; raises KeyError or ValueError when the document is not one."""
    return AuditRecord(
        id=document["_id"],
        at=document["at"],
        actor=Actor(ActorKind(document["actor"]["kind"]), document["actor"]["id"]),
        action=document["action"],
        object=AuditObject(document["object"]["type"], document["object"]["id"]),
        before=document["before"],
        after=document["after"],
        request_id=document["request_id"],
        seq=document.get("seq"),
        prev_hash=document.get("prev_hash"),
        hash=document.get("hash"),
    )


def sealed_event(document: Document) -> SealedEvent:
    """A chained record read for verification; raises KeyError, ValueError or TypeError when the
    document is not a well-formed sealed record."""
    record = _record(document)
    if record.seq is None or record.prev_hash is None or record.hash is None:
        raise KeyError("seal")
    return SealedEvent(record.id, record.event, Seal(record.seq, record.prev_hash, record.hash))
