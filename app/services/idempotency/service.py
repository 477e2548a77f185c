"""Idempotency-Key handling for money-moving POSTs.

A key is stored per (user, key) with a fingerprint of the request. The first request runs and
its response is stored; a repeat with the same body replays it; a repeat with another body, or
one that arrives while the first is still running, is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import structlog

from app.db import Database
from app.errors import ServiceError
from app.services.idempotency.repository import IdempotencyRepository, KeyState

log = structlog.get_logger(__name__)

# How long a request may hold its key before another attempt may take it over (a crashed worker).
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
    def __init__(self, database: Database, ttl: timedelta) -> None:
        self._keys = IdempotencyRepository(database)
        self._ttl = ttl

    async def run(
        self,
        user_id: str,
        key: str,
        fingerprint: str,
        operation: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> StoredResponse:
        record_id = f"{user_id}|{key}"
        replay = await self._claim(record_id, fingerprint)
        if replay is not None:
            return replay
        try:
            status, body = await operation()
        except ServiceError as exc:
            # A server error, or a limit that may lift (429), is not the request's answer: the
            # same key may try again.
            if exc.status >= 500 or exc.status == HTTPStatus.TOO_MANY_REQUESTS:
                await self._keys.release(record_id)
                raise
            # A refusal is an answer too: the same request gets the same refusal.
            await self._keys.complete(record_id, exc.status, exc.as_problem())
            raise
        except BaseException:
            await self._keys.release(record_id)
            raise
        await self._keys.complete(record_id, status, body)
        return StoredResponse(status=status, body=body, replayed=False)

    async def _claim(self, record_id: str, fingerprint: str) -> StoredResponse | None:
        now = datetime.now(UTC)
        if await self._keys.insert_in_flight(
            record_id, fingerprint, now, now + IN_FLIGHT_LEASE, now + self._ttl
        ):
            return None
        record = await self._keys.get(record_id)
        if record is None:  # expired between the insert and the read
            return await self._claim(record_id, fingerprint)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        if record.state is KeyState.COMPLETED and record.status is not None:
            return StoredResponse(status=record.status, body=record.body, replayed=True)
        if not await self._keys.take_over_stale(record_id, now, now + IN_FLIGHT_LEASE):
            raise IdempotentRequestInFlight("a request with this Idempotency-Key is in progress; retry later")
        log.warning("idempotency_key_taken_over", record_id=record_id)
        return None
