"""MongoDB commands per operation, counted with PyMongo command monitoring.

`CommandCounter` is registered globally before any client is created, so it sees every command
the service sends; `counted` collects the commands started while one operation runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring

# Sent by the driver for its own housekeeping, not by the operation being measured.
HOUSEKEEPING = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "killCursors"})


@dataclass
class CommandCounter(monitoring.CommandListener):
    """Names of the commands started while `recording`."""

    recording: list[str] | None = None
    names: list[str] = field(default_factory=list)
    # The commands themselves, while `captured` collects them (to send them again, raw).
    capturing: list[dict[str, Any]] | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in HOUSEKEEPING:
            return
        if self.recording is not None:
            self.recording.append(f"{event.command_name} {_collection(event)}".strip())
        if self.capturing is not None:
            self.capturing.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextmanager
    def counted(self) -> Iterator[list[str]]:
        """The commands started inside the block, in order."""
        commands: list[str] = []
        self.recording = commands
        try:
            yield commands
        finally:
            self.recording = None

    @contextmanager
    def captured(self) -> Iterator[list[dict[str, Any]]]:
        """The documents of the commands started inside the block, in order."""
        documents: list[dict[str, Any]] = []
        self.capturing = documents
        try:
            yield documents
        finally:
            self.capturing = None

    async def per_operation(self, count: int, operation: Callable[[int], Awaitable[object]]) -> list[str]:
        """Run `operation(i)` `count` times; the commands of the last run (earlier ones warm up)."""
        runs: list[list[str]] = []
        for index in range(count):
            with self.counted() as commands:
                await operation(index)
            runs.append(commands)
        return runs[-1]


@dataclass
class CommandTimer(monitoring.CommandListener):
    """Time the server spent answering each kind of command, as the driver saw it, and failures."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self._names[event.request_id] = f"{event.command_name} {_collection(event)}".strip()

    def clear(self) -> None:
        """Forget what was timed so far: what follows is timed alone."""
        self.seconds.clear()
        self.counts.clear()
        self.failures.clear()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._add(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        name = self._add(event.request_id, event.duration_micros)
        self.failures[name] = self.failures.get(name, 0) + 1

    def _add(self, request_id: int, micros: int) -> str:
        name = self._names.pop(request_id, "?")
        self.seconds[name] = self.seconds.get(name, 0.0) + micros / 1e6
        self.counts[name] = self.counts.get(name, 0) + 1
        return name


def _collection(event: monitoring.CommandStartedEvent) -> str:
    if event.command_name == "bulkWrite":  # one command writing to several collections
        return "+".join(ns["ns"].split(".", 1)[1] for ns in event.command.get("nsInfo", []))
    target = event.command.get(event.command_name)
    return target if isinstance(target, str) else ""


def install() -> CommandCounter:
    counter = CommandCounter()
    monitoring.register(counter)
    return counter
