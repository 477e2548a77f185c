"""Idempotency keys: the first response to a key is stored and replayed for the same request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

IdempotencyScope = tuple[str | None, str]
"""(account the request acts on, Idempotency-Key): Stripe scopes keys per account."""


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str]
    request_id: str


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    return json.dumps([method, path, params], sort_keys=True)


class IdempotencyStore:
    def __init__(self) -> None:
        self._responses: dict[IdempotencyScope, StoredResponse] = {}
        self._locks: dict[IdempotencyScope, asyncio.Lock] = {}

    def lock(self, scope: IdempotencyScope) -> asyncio.Lock:
        return self._locks.setdefault(scope, asyncio.Lock())

    def get(self, scope: IdempotencyScope) -> StoredResponse | None:
        return self._responses.get(scope)

    def save(self, scope: IdempotencyScope, response: StoredResponse) -> None:
        self._responses[scope] = response

    def clear(self) -> None:
        self._responses.clear()
        self._locks.clear()
