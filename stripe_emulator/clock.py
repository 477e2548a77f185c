"""The emulator's clock: real time plus an offset a control advances, so tests reach
`available_on` dates and requirement deadlines without waiting for them."""

from __future__ import annotations

import time

DAY_SECONDS = 86_400


class Clock:
    def __init__(self) -> None:
        self.offset_seconds = 0

    def time(self) -> float:
        return time.time() + self.offset_seconds

    def now(self) -> int:
        """Unix seconds, as Stripe's timestamps are."""
        return int(self.time())

    def advance(self, seconds: int) -> None:
        self.offset_seconds += seconds

    def reset(self) -> None:
        self.offset_seconds = 0
