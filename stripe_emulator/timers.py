"""Callbacks run later on the emulator's event loop: Stripe's asynchronous work."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class Timers:
    def __init__(self) -> None:
        self._handles: set[asyncio.TimerHandle] = set()

    def later(self, delay_seconds: float, callback: Callable[[], Any]) -> None:
        """Run `callback` after the delay, outside the current request's context, so the events it
        emits carry no request (as Stripe's asynchronous events do not)."""
        loop = asyncio.get_running_loop()
        handles = self._handles

        def run() -> None:
            handles.discard(handle)
            try:
                callback()
            except Exception:
                logger.exception("Stripe emulator: delayed work failed")

        handle = loop.call_later(delay_seconds, run, context=contextvars.Context())
        handles.add(handle)

    def cancel_all(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
