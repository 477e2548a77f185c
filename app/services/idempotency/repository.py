"""The `idempotency_keys` collection: one record per (user, Idempotency-Key), expiring by TTL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document

INDEXES: dict[str, list[IndexModel]] = {
    Collections.IDEMPOTENCY_KEYS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
}


class KeyState(StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    id: str
    fingerprint: str
    state: KeyState
    status: int | None
    body: Any


class IdempotencyRepository:
    def __init__(self, database: Database) -> None:
        self._keys = database[Collections.IDEMPOTENCY_KEYS]

    async def insert_in_flight(
        self, record_id: str, fingerprint: str, now: datetime, locked_until: datetime, expires_at: datetime
    ) -> bool:
        """Claim the key for a first run; False if a record already holds it."""
        try:
            await self._keys.insert_one(
                {
                    "_id": record_id,
                    "fingerprint": fingerprint,
                    "state": KeyState.IN_FLIGHT.value,
                    "locked_until": locked_until,
                    "created_at": now,
                    "expires_at": expires_at,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def get(self, record_id: str) -> IdempotencyRecord | None:
        document = await self._keys.find_one({"_id": record_id})
        return _record(document) if document else None

    async def take_over_stale(self, record_id: str, now: datetime, locked_until: datetime) -> bool:
        """Take over an in-flight key whose lock has lapsed (its runner crashed)."""
        taken = await self._keys.update_one(
            {"_id": record_id, "state": KeyState.IN_FLIGHT.value, "locked_until": {"$lt": now}},
            {"$set": {"locked_until": locked_until}},
        )
        return taken.modified_count == 1

    async def complete(self, record_id: str, status: int, body: Any) -> None:
        await self._keys.update_one(
            {"_id": record_id},
            {
                "$set": {"state": KeyState.COMPLETED.value, "status": status, "body": body},
                "$unset": {"locked_until": ""},
            },
        )

    async def release(self, record_id: str, now: datetime) -> None:
        """End the run's hold on the key at once; the record and its fingerprint stay, so only the
        same request may run again under this key."""
        await self._keys.update_one(
            {"_id": record_id, "state": KeyState.IN_FLIGHT.value}, {"$set": {"locked_until": now}}
        )


def _record(document: Document) -> IdempotencyRecord:
    return IdempotencyRecord(
        id=document["_id"],
        fingerprint=document["fingerprint"],
        state=KeyState(document["state"]),
        status=document.get("status"),
        body=document.get("body"),
    )
