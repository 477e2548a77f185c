"""The `leases` collection: at most one runner does a given job at a time, across processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import DeleteOne
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document


class Lease:
    """A lease document per job; whoever holds an unexpired lease runs the job."""

    def __init__(self, database: Database, job: str, owner: str, ttl: timedelta) -> None:
        self._leases = database[Collections.LEASES]
        self._namespace = database.namespace(Collections.LEASES)
        self.job = job
        self.owner = owner
        self._ttl = ttl

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another owner holds an unexpired one."""
        now = datetime.now(UTC)
        try:
            await self._leases.update_one(
                {"_id": self.job, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self._ttl, "renewed_at": now}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self) -> None:
        await self._leases.delete_one(self._held())

    def release_write(self) -> DeleteOne:
        """The release, for the caller's `write_together`: it lands with the work it ends."""
        return DeleteOne(self._held(), namespace=self._namespace)

    def _held(self) -> Document:
        return {"_id": self.job, "owner": self.owner}
