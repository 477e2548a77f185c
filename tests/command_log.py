"""Every MongoDB command the clients of this test process send, seen through PyMongo command
monitoring, so a test can say which commands an operation costs.

The listener is registered when this module is imported (by `tests/conftest.py`, before any
client exists); it records only while a test asks, and only for that test's database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pymongo import monitoring


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    collection: str | None
    in_transaction: bool


class CommandLog(monitoring.CommandListener):
    def __init__(self) -> None:
        self._recordings: dict[str, list[Command]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        recording = self._recordings.get(event.database_name)
        if recording is None:
            return
        target = event.command.get(event.command_name)
        recording.append(
            Command(
                name=event.command_name,
                collection=target if isinstance(target, str) else None,
                in_transaction="txnNumber" in event.command and "autocommit" in event.command,
            )
        )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextmanager
    def recording(self, database_name: str) -> Iterator[list[Command]]:
        """The commands sent to `database_name` while the block runs, in order."""
        commands: list[Command] = []
        self._recordings[database_name] = commands
        try:
            yield commands
        finally:
            del self._recordings[database_name]


COMMANDS = CommandLog()
monitoring.register(COMMANDS)
