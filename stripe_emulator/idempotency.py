"""Idempotency keys: the first response to a key is stored and replayed for the same request.

While a request holds its key, another request with that key is refused with 409
`idempotency_key_in_use`, as Stripe refuses it ("There is currently another in-progress
request using this Idempotent Key"); the SDKs retry that 409.
"""

from __future__ import annotations

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
        self._in_flight: set[IdempotencyScope] = set()

    def claim(self, scope: IdempotencyScope) -> bool:
        """Hold the key for a request; False while another request holds it."""
        if scope in self._in_flight:
            return False
        self._in_flight.add(scope)
        return True

    def release(self, scope: IdempotencyScope) -> None:
        self._in_flight.discard(scope)

    def get(self, scope: IdempotencyScope) -> StoredResponse | None:
        return self._responses.get(scope)

    def save(self, scope: IdempotencyScope, response: StoredResponse) -> None:
        self._responses[scope] = response

    def clear(self) -> None:
        self._responses.clear()
        self._in_flight.clear()
