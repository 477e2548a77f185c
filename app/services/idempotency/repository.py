"""The `idempotency_keys` collection: one record per (user, Idempotency-Key), expiring by TTL.

While a request runs, its record is in flight under a lease: an owner token and the time the
lease lapses. Only the owner renews, completes or releases it (compare-and-set on the owner).
"""

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
        self,
        record_id: str,
        fingerprint: str,
        owner: str,
        now: datetime,
        locked_until: datetime,
        expires_at: datetime,
    ) -> bool:
        """Claim the key for a first run; False if a record already holds it."""
        try:
            await self._keys.insert_one(
                {
                    "_id": record_id,
                    "fingerprint": fingerprint,
                    "state": KeyState.IN_FLIGHT.value,
                    "owner": owner,
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

    async def take_over_lapsed(
        self, record_id: str, owner: str, now: datetime, locked_until: datetime
    ) -> bool:
        """Become the owner of an in-flight key whose lease has lapsed (its runner stopped renewing)."""
        taken = await self._keys.update_one(
            {"_id": record_id, "state": KeyState.IN_FLIGHT.value, "locked_until": {"$lt": now}},
            {"$set": {"owner": owner, "locked_until": locked_until}},
        )
        return taken.modified_count == 1

    async def renew(self, record_id: str, owner: str, locked_until: datetime) -> bool:
        """Extend the owner's lease; False once another runner owns the key."""
        renewed = await self._keys.update_one(
            _owned_by(record_id, owner), {"$set": {"locked_until": locked_until}}
        )
        return renewed.matched_count == 1

    async def complete(self, record_id: str, owner: str, status: int, body: Any) -> bool:
        """Store the owner's answer; False (nothing written) once another runner owns the key."""
        completed = await self._keys.update_one(
            _owned_by(record_id, owner),
            {
                "$set": {"state": KeyState.COMPLETED.value, "status": status, "body": body},
                "$unset": {"locked_until": "", "owner": ""},
            },
        )
        return completed.modified_count == 1

    async def release(self, record_id: str, owner: str, now: datetime) -> bool:
        """End the owner's lease at once; the record and its fingerprint stay, so only the same
        request may run again under this key. False once another runner owns the key."""
        released = await self._keys.update_one(
            _owned_by(record_id, owner), {"$set": {"locked_until": now}, "$unset": {"owner": ""}}
        )
        return released.modified_count == 1


def _owned_by(record_id: str, owner: str) -> Document:
    return {"_id": record_id, "state": KeyState.IN_FLIGHT.value, "owner": owner}


def _record(document: Document) -> IdempotencyRecord:
    return IdempotencyRecord(
        id=document["_id"],
        fingerprint=document["fingerprint"],
        state=KeyState(document["state"]),
        status=document.get("status"),
        body=document.get("body"),
    )
