"""Injected faults: errors, latency and dropped responses for the next matching API calls."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from stripe_emulator import errors


@dataclass
class Fault:
    path_prefix: str
    method: str | None = None
    count: int = 1
    status: int | None = None
    code: str | None = None
    should_retry: bool | None = None
    delay_seconds: float | None = None
    drop_response: bool = False

    def matches(self, method: str, path: str) -> bool:
        method_matches = self.method is None or self.method.upper() == method.upper()
        return method_matches and path.startswith(self.path_prefix)

    async def delay(self) -> None:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)

    def error(self) -> errors.StripeError | None:
        if self.status is None:
            return None
        error = _error_for(self.status, self.code)
        if self.should_retry is not None:
            error.should_retry = self.should_retry
        return error

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _error_for(status: int, code: str | None) -> errors.StripeError:
    if status == 429:
        return errors.lock_timeout() if code == "lock_timeout" else errors.rate_limited()
    if status == 409:
        return errors.idempotency_key_in_use()
    if status >= 500:
        return errors.api_error(status)
    message = "Injected fault."
    error_type = "card_error" if status == 402 else errors.INVALID_REQUEST
    return errors.StripeError(status, error_type, message, code=code)


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this call, counting the call against it."""
        for fault in self._faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        return [fault.as_json() for fault in self._faults]

    def clear(self) -> None:
        self._faults.clear()
