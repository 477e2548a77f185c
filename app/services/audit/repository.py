"""The `audit_log` collection (one document per audited change) and `audit_chain` (the chain's
head: the last sealed record's seq and hash).

A record is inserted unsealed, inside the transaction of the change it records, carrying
`pending` (its place in the sealer's queue). Sealing sets `seq`, `prev_hash` and `hash` and drops
`pending`, once: the update names a record without `seq`, the head moves by compare-and-set in
the same transaction, and `seq` is unique, so two sealers can never give out one seq twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
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
from app.errors import InvalidRequest

# The time of the change then the record id, as one string: the list's order and its cursor.
LIST_KEY = "list_key"
# Present exactly while a record waits to be sealed; its value orders the sealer's queue.
PENDING = "pending"
HEAD_ID = "head"

# The admin list's filters, most selective first; a query uses the index of the first it names.
FILTERED_FIELDS = ("object.id", "actor.id", "action", "object.type")

INDEXES: dict[str, list[IndexModel]] = {
    Collections.AUDIT_LOG: [
        # The chain in order, for the verifier's walk; unique, so a seq is never given twice.
        IndexModel([("seq", ASCENDING)], unique=True, sparse=True),
        IndexModel([(PENDING, ASCENDING)], sparse=True),
        # The admin list: newest first, alone or by each filter.
        IndexModel([(LIST_KEY, DESCENDING)]),
        *(IndexModel([(field, ASCENDING), (LIST_KEY, DESCENDING)]) for field in FILTERED_FIELDS),
    ],
}


class ChainMoved(RuntimeError):
    """The head or a record changed under the sealer: its transaction must not commit."""


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
        return [*leading, (LIST_KEY, DESCENDING)]


@dataclass(frozen=True, slots=True)
class AuditPage:
    data: list[AuditRecord]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Unsealed:
    count: int
    oldest_at: datetime | None


def list_key(at: datetime, record_id: str) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%S.%f}|{record_id}"


class AuditRepository:
    def __init__(self, database: Database) -> None:
        self._log = database[Collections.AUDIT_LOG]
        self._chain = database[Collections.AUDIT_CHAIN]

    async def insert(self, session: AsyncClientSession, event: AuditEvent) -> AuditRecord:
        record_id = f"aud_{uuid.uuid4().hex}"
        key = list_key(event.at, record_id)
        document = {"_id": record_id, **_event_document(event), LIST_KEY: key, PENDING: key}
        await self._log.insert_one(document, session=session)
        return _record(document)

    async def head(self, session: AsyncClientSession | None = None) -> ChainHead:
        document = await self._chain.find_one({"_id": HEAD_ID}, session=session)
        return ChainHead(document["seq"], document["hash"]) if document else EMPTY_CHAIN

    async def has_pending(self) -> bool:
        return await self._log.find_one({PENDING: {"$exists": True}}, {"_id": True}) is not None

    async def pending(self, session: AsyncClientSession, limit: int) -> list[AuditRecord]:
        """The oldest records waiting to be sealed, in the order they will take in the chain."""
        cursor = self._log.find({PENDING: {"$exists": True}}, session=session).sort(PENDING, ASCENDING)
        return [_record(document) async for document in cursor.limit(limit)]

    async def seal(self, session: AsyncClientSession, seals: Sequence[tuple[str, Seal]]) -> None:
        """Give each record its seal; every one must still be unsealed."""
        updates = [
            UpdateOne(
                {"_id": record_id, "seq": {"$exists": False}},
                {
                    "$set": {"seq": seal.seq, "prev_hash": seal.prev_hash, "hash": seal.hash},
                    "$unset": {PENDING: ""},
                },
            )
            for record_id, seal in seals
        ]
        result = await self._log.bulk_write(updates, ordered=True, session=session)
        if result.modified_count != len(updates):
            raise ChainMoved("a record was sealed by someone else")

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

    async def sealed_in_order(self, batch_size: int) -> AsyncIterator[Document]:
        """Every sealed record, raw, by seq: a cursor, so memory does not grow with the log."""
        cursor = self._log.find({"seq": {"$gte": 0}}, {LIST_KEY: False}, batch_size=batch_size)
        async for document in cursor.sort("seq", ASCENDING):
            yield document

    async def unsealed(self) -> Unsealed:
        count = await self._log.count_documents({PENDING: {"$exists": True}})
        oldest = await self._log.find_one({PENDING: {"$exists": True}}, sort=[(PENDING, ASCENDING)])
        return Unsealed(count, oldest["at"] if oldest else None)

    async def find_page(self, where: AuditFilter, limit: int, starting_after: str | None) -> AuditPage:
        query = where.as_query()
        if starting_after is not None:
            query[LIST_KEY] = {"$lt": await self._list_key_of(starting_after)}
        cursor = self._log.find(query, hint=where.index()).sort(LIST_KEY, DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return AuditPage(data=[_record(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def _list_key_of(self, record_id: str) -> str:
        anchor = await self._log.find_one({"_id": record_id}, {LIST_KEY: True})
        if anchor is None:
            raise InvalidRequest(f"starting_after: no audit record {record_id}")
        return str(anchor[LIST_KEY])


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
    """A sealed record read for verification; raises KeyError, ValueError or TypeError when the
    document is not a well-formed sealed record."""
    record = _record(document)
    if record.seq is None or record.prev_hash is None or record.hash is None:
        raise KeyError("seal")
    return SealedEvent(record.id, record.event, Seal(record.seq, record.prev_hash, record.hash))
