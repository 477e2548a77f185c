"""Idempotency-Key handling for money-moving POSTs.

A key is stored per (user, key) with a fingerprint of the request, and stays bound to that
fingerprint for its whole lifetime, whatever became of the first attempt. The first request runs
and its response is stored; a repeat with the same body replays it (or runs it again if the
first attempt failed without an answer); a repeat with another body is always refused, and one
that arrives while the first is still running is told to retry.

A run holds the key under a lease with an owner token, renewed while it runs; only after the
lease has really lapsed may another run take the key over, and from then on the old run can
neither store its answer nor release the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import structlog
from pymongo.errors import PyMongoError

from app.db import Database
from app.errors import ServiceError
from app.services.idempotency.repository import IdempotencyRepository, KeyState

log = structlog.get_logger(__name__)

# How long a request holds its key without renewing it before another attempt may take it over
# (its runner crashed or was cut off). A running request renews it every third of that.
IN_FLIGHT_LEASE = timedelta(seconds=60)


class IdempotencyError(ServiceError):
    code = "idempotency_error"
    status = 409


class IdempotencyKeyReused(IdempotencyError):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class IdempotentRequestInFlight(IdempotencyError):
    code = "idempotency_request_in_flight"
    title = "A request with this Idempotency-Key is still being processed"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(
        {"method": method, "path": path, "body": body}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(
        self,
        database: Database,
        ttl: timedelta,
        *,
        lease: timedelta = IN_FLIGHT_LEASE,
        renew_every: timedelta | None = None,
    ) -> None:
        self._keys = IdempotencyRepository(database)
        self._ttl = ttl
        self._lease = lease
        self._renew_every = renew_every or lease / 3

    async def run(
        self,
        user_id: str,
        key: str,
        fingerprint: str,
        operation: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> StoredResponse:
        record_id, owner = f"{user_id}|{key}", uuid.uuid4().hex
        replay = await self._claim(record_id, fingerprint, owner)
        if replay is not None:
            return replay
        try:
            async with self._renewing(record_id, owner):
                status, body = await operation()
        except ServiceError as exc:
            # A server error, or a limit that may lift (429), is not the request's answer: the
            # same request may run again under this key; the key keeps its fingerprint, so another
            # body stays refused.
            if exc.status >= 500 or exc.status == HTTPStatus.TOO_MANY_REQUESTS:
                await self._release(record_id, owner)
                raise
            # A refusal is an answer too: the same request gets the same refusal.
            await self._complete(record_id, owner, exc.status, exc.as_problem())
            raise
        except BaseException:
            # No answer (a failover, a crash of our own): the same request may try again at once.
            await self._release(record_id, owner)
            raise
        await self._complete(record_id, owner, status, body)
        return StoredResponse(status=status, body=body, replayed=False)

    async def _claim(self, record_id: str, fingerprint: str, owner: str) -> StoredResponse | None:
        now = datetime.now(UTC)
        if await self._keys.insert_in_flight(
            record_id, fingerprint, owner, now, now + self._lease, now + self._ttl
        ):
            return None
        record = await self._keys.get(record_id)
        if record is None:  # expired between the insert and the read
            return await self._claim(record_id, fingerprint, owner)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        if record.state is KeyState.COMPLETED and record.status is not None:
            return StoredResponse(status=record.status, body=record.body, replayed=True)
        if not await self._keys.take_over_lapsed(record_id, owner, now, now + self._lease):
            raise IdempotentRequestInFlight("a request with this Idempotency-Key is in progress; retry later")
        log.warning("idempotency_key_taken_over", record_id=record_id)
        return None

    @asynccontextmanager
    async def _renewing(self, record_id: str, owner: str) -> AsyncIterator[None]:
        """Renew the lease while the block runs: one Stripe call may take minutes with retries."""
        renewal = asyncio.create_task(self._renew_until_lost(record_id, owner))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _renew_until_lost(self, record_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self._renew_every.total_seconds())
            try:
                renewed = await self._keys.renew(record_id, owner, datetime.now(UTC) + self._lease)
            except PyMongoError:
                log.warning("idempotency_lease_renewal_failed", record_id=record_id, exc_info=True)
                continue
            if not renewed:
                log.warning("idempotency_lease_lost", record_id=record_id)
                return

    async def _complete(self, record_id: str, owner: str, status: int, body: Any) -> None:
        if not await self._keys.complete(record_id, owner, status, body):
            # Another runner took the key over after our lease lapsed; its answer is the one kept.
            log.warning("idempotency_answer_not_stored", record_id=record_id, reason="lease_lost")

    async def _release(self, record_id: str, owner: str) -> None:
        if not await self._keys.release(record_id, owner, datetime.now(UTC)):
            log.warning("idempotency_release_skipped", record_id=record_id, reason="lease_lost")
