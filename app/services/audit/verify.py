"""Proving the audit chain intact: a walk over every sealed record, by seq, through a cursor.

Memory does not grow with the log: the walk keeps only the previous record's seq and hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.db import Database, Document
from app.domain.audit import ChainBreak, ChainWalk
from app.services.audit.repository import AuditRepository, sealed_event

VERIFY_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What a walk found: the records it checked, the first break if any, and the records that
    are not sealed yet (recorded, committed, waiting for the sealer)."""

    sealed: int
    first_break: ChainBreak | None
    unsealed: int
    oldest_unsealed_at: datetime | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


class AuditVerifier:
    def __init__(self, database: Database) -> None:
        self._records = AuditRepository(database)

    async def verify(self) -> ChainReport:
        """Walk the chain from record 1 and stop at the first record where it does not hold."""
        head = await self._records.head()
        walk, checked, first_break = ChainWalk(), 0, None
        async for document in self._records.chain_in_order(VERIFY_BATCH):
            first_break = _check(walk, document)
            if first_break is not None:
                break
            checked += 1
        else:
            first_break = walk.finish(head)
        unsealed = await self._records.unsealed()
        return ChainReport(checked, first_break, unsealed.count, unsealed.oldest_at)


def _check(walk: ChainWalk, document: Document) -> ChainBreak | None:
    try:
        record = sealed_event(document)
    except (KeyError, ValueError, TypeError) as exc:
        return walk.unreadable(document.get("seq"), str(document["_id"]), f"{type(exc).__name__}: {exc}")
    return walk.check(record)
