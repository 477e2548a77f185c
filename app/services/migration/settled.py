"""Users whose legacy wallet needs nothing now, as this process last found them.

A wallet operation looks the user's legacy wallet up (one indexed read) until the answer is
settled: the user has no legacy wallet, or theirs is migrated with nothing credited since. That
answer is then kept for `recheck`, so the lookup is not repeated on every `GET /wallet` or spend.
Only the legacy system can change such an answer (a wallet created later, a legacy refund to a
migrated one); the change is seen once the answer is older than `recheck`, so late legacy money
waits at most that long before the next wallet operation migrates it. Bounded: the oldest
answers are dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

T = TypeVar("T")
CAPACITY = 100_000


class SettledAnswers(Generic[T]):
    def __init__(
        self, recheck: timedelta, clock: Callable[[], float] = time.monotonic, capacity: int = CAPACITY
    ) -> None:
        self._recheck = recheck.total_seconds()
        self._clock = clock
        self._capacity = capacity
        self._answers: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def get(self, user_id: str) -> T | None:
        found = self._answers.get(user_id)
        if found is None:
            return None
        settled_at, answer = found
        if self._clock() - settled_at >= self._recheck:
            del self._answers[user_id]
            return None
        return answer

    def remember(self, user_id: str, answer: T) -> None:
        if self._recheck <= 0:
            return
        self._answers[user_id] = (self._clock(), answer)
        self._answers.move_to_end(user_id)
        while len(self._answers) > self._capacity:
            self._answers.popitem(last=False)
