"""In-process serialization of ledger postings that touch the same account.

Concurrent transactions on one balance document abort each other (write conflicts) and retry
with backoff; on a hot account most of the work is thrown away. Queueing them in the process
first leaves conflicts only between processes. Correctness never depends on this: the balance
floor and the transaction do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager


class AccountLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, accounts: Iterable[str]) -> AsyncIterator[None]:
        """Hold every account's lock, taken in sorted order so two holders never deadlock."""
        async with AsyncExitStack() as stack:
            for account in sorted(set(accounts)):
                await stack.enter_async_context(self._one(account))
            yield

    @asynccontextmanager
    async def _one(self, account: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(account, asyncio.Lock())
        self._holders[account] = self._holders.get(account, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[account] -= 1
            if not self._holders[account]:  # nobody holds or waits: forget it, memory stays bounded
                del self._holders[account], self._locks[account]
