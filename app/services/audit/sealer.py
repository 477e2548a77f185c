"""The sealer: chains unsealed audit records (seq, prev_hash, hash), one batch per transaction.

One sealer runs at a time (the `audit_sealer` lease), in the HTTP service every
AUDIT_SEAL_INTERVAL_SECONDS or from `python -m app audit seal`. The lease only saves wasted work:
correctness rests on the transaction, which reads the head, takes the oldest records waiting
in `audit_pending`, appends them sealed to `audit_log` and moves the head by compare-and-set.
Two sealers racing (a lease that lapsed mid-pass) conflict on the head and on the records they
both took, and one retries from the new head, so `seq` has no gap and the chain no fork. A record
reaches the queue when its change commits and leaves it only into the chain, so every committed
change's record is sealed by a later pass. `seq` is the order of sealing; `at` is when the
change was made, so a transaction that committed late may follow a later `at`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Database
from app.domain.audit import ChainHead, Seal, seal_after
from app.services.audit.log import Clock, utc_now
from app.services.audit.repository import AuditRepository
from app.services.jobs import Lease

log = structlog.get_logger(__name__)

SEALER_JOB = "audit_sealer"
SEAL_BATCH = 256


class AuditSealer:
    def __init__(
        self,
        database: Database,
        owner: str,
        *,
        batch_size: int = SEAL_BATCH,
        lease_ttl: timedelta = timedelta(minutes=1),
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._records = AuditRepository(database)
        self._lease = Lease(database, SEALER_JOB, owner, lease_ttl)
        self._batch_size = batch_size
        self._clock = clock

    async def seal_pending(self) -> int | None:
        """Seal every record waiting now; how many, or None when another sealer holds the lease."""
        if not await self._records.has_pending():
            return 0
        if not await self._lease.acquire():
            return None
        sealed = 0
        try:
            while True:
                seals = await self._db.transaction(self._seal_batch)
                if seals:
                    log.info("audit_records_sealed", count=len(seals), last_seq=seals[-1].seq)
                sealed += len(seals)
                # A full batch means more may wait; the renewal proves the lease is still ours.
                if len(seals) < self._batch_size or not await self._lease.acquire():
                    break
        finally:
            await self._lease.release()
        return sealed

    async def _seal_batch(self, session: AsyncClientSession) -> list[Seal]:
        head = await self._records.head(session)
        records = await self._records.pending(session, self._batch_size)
        if not records:
            return []
        seals = seal_after(head, [record.event for record in records])
        sealed = [
            replace(record, seq=seal.seq, prev_hash=seal.prev_hash, hash=seal.hash)
            for record, seal in zip(records, seals, strict=True)
        ]
        await self._records.append_sealed(session, sealed)
        last = seals[-1]
        await self._records.move_head(session, head, ChainHead(last.seq, last.hash), self._clock())
        return seals
