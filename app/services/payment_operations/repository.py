"""The `payment_operations` collection: one record per provider call, keyed by its idempotency key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.payment_operations import OperationStatus

INDEXES: dict[str, list[IndexModel]] = {
    Collections.PAYMENT_OPERATIONS: [
        IndexModel([("idempotency_key", ASCENDING)], unique=True),
        IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)]),
    ],
}
UNFINISHED = [OperationStatus.PENDING.value, OperationStatus.FAILED.value]


@dataclass(frozen=True, slots=True)
class PaymentOperation:
    id: str  # the idempotency key
    kind: str
    operation_id: str
    request: dict[str, Any]
    refs: dict[str, str]
    status: OperationStatus
    attempts: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class PaymentOperationRepository:
    def __init__(self, database: Database) -> None:
        self._operations = database[Collections.PAYMENT_OPERATIONS]
        self._namespace = database.namespace(Collections.PAYMENT_OPERATIONS)

    async def insert_pending(
        self,
        key: str,
        kind: str,
        operation_id: str,
        request: Mapping[str, Any],
        refs: Mapping[str, str],
        now: datetime,
    ) -> PaymentOperation | None:
        """Record a new pending operation, its first attempt counted (it is sent straight after);
        None if one is already recorded under `key`."""
        document = _pending_document(key, kind, operation_id, request, refs, now)
        try:
            await self._operations.insert_one(document)
        except DuplicateKeyError:
            return None
        return _operation(document)

    def pending_write(
        self,
        key: str,
        kind: str,
        operation_id: str,
        request: Mapping[str, Any],
        refs: Mapping[str, str],
        now: datetime,
    ) -> tuple[InsertOne[Document], PaymentOperation]:
        """The insert `insert_pending` would send, for the caller's transaction
        (`Database.write_together`; one recorded under `key` already is a duplicate key that
        aborts it), and the operation it records."""
        document = _pending_document(key, kind, operation_id, request, refs, now)
        return InsertOne(document, namespace=self._namespace), _operation(document)

    async def get(self, key: str) -> PaymentOperation | None:
        document = await self._operations.find_one({"_id": key})
        return _operation(document) if document else None

    async def count_attempt(self, key: str, now: datetime) -> None:
        await self._operations.update_one(
            {"_id": key}, {"$inc": {"attempts": 1}, "$set": {"updated_at": now}}
        )

    async def complete(self, key: str, status: OperationStatus, fields: Document, now: datetime) -> None:
        """Finish an operation; only an unfinished one changes, so a success is never overwritten."""
        await self._operations.update_one(_unfinished(key), _completion(status, fields, now))

    def completion_write(
        self, key: str, status: OperationStatus, fields: Document, now: datetime
    ) -> UpdateOne:
        """The update `complete` would send, for the caller's `write_together`."""
        return UpdateOne(_unfinished(key), _completion(status, fields, now), namespace=self._namespace)

    async def complete_returning_previous(
        self, key: str, status: OperationStatus, fields: Document, now: datetime, session: AsyncClientSession
    ) -> OperationStatus | None:
        """Finish an operation as `complete` does, for a change that is audited: the status it
        left, or None when it was already finished."""
        previous = await self._operations.find_one_and_update(
            _unfinished(key), _completion(status, fields, now), projection={"status": True}, session=session
        )
        return OperationStatus(previous["status"]) if previous else None

    async def pending_since(self, cutoff: datetime) -> AsyncIterator[PaymentOperation]:
        """Operations pending since before `cutoff`, oldest first."""
        stale = self._operations.find(
            {"status": OperationStatus.PENDING.value, "updated_at": {"$lt": cutoff}}
        )
        async for document in stale.sort("updated_at", ASCENDING):
            yield _operation(document)


def _pending_document(
    key: str,
    kind: str,
    operation_id: str,
    request: Mapping[str, Any],
    refs: Mapping[str, str],
    now: datetime,
) -> Document:
    return {
        "_id": key,
        "kind": kind,
        "operation_id": operation_id,
        "idempotency_key": key,
        "request": dict(request),
        "refs": dict(refs),
        "status": OperationStatus.PENDING.value,
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
    }


def _unfinished(key: str) -> Document:
    return {"_id": key, "status": {"$in": UNFINISHED}}


def _completion(status: OperationStatus, fields: Document, now: datetime) -> Document:
    return {"$set": {**fields, "status": status.value, "updated_at": now, "completed_at": now}}


def _operation(document: Document) -> PaymentOperation:
    return PaymentOperation(
        id=document["_id"],
        kind=document["kind"],
        operation_id=document["operation_id"],
        request=document["request"],
        refs=document["refs"],
        status=OperationStatus(document["status"]),
        attempts=document["attempts"],
        result=document.get("result"),
        error=document.get("error"),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )
