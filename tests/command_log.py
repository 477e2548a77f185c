"""Every MongoDB command the clients of this test process send, seen through PyMongo command
monitoring, so a test can say which commands an operation costs.

The listener is registered when this module is imported (by `tests/conftest.py`, before any
client exists); it records only while a test asks, and only for that test's database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import monitoring


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    collection: str | None
    in_transaction: bool
    document: Mapping[str, Any]


# Ending a transaction is a command on the `admin` database, whichever database it wrote to.
_SENT_TO_ADMIN = frozenset({"commitTransaction", "abortTransaction"})


def _target(event: monitoring.CommandStartedEvent) -> tuple[str, str | None]:
    """The database and collection a command is about. `bulkWrite` is sent to `admin` and
    names its namespaces: it is about their database, and its collections joined by `+`."""
    if event.command_name == "bulkWrite":
        namespaces = [info["ns"].split(".", 1) for info in event.command.get("nsInfo", [])]
        if namespaces:
            return namespaces[0][0], "+".join(collection for _, collection in namespaces)
    target = event.command.get(event.command_name)
    return event.database_name, target if isinstance(target, str) else None


class CommandLog(monitoring.CommandListener):
    def __init__(self) -> None:
        self._recordings: dict[str, list[Command]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        database, collection = _target(event)
        if event.command_name in _SENT_TO_ADMIN:
            recordings = list(self._recordings.values())  # a test records one database at a time
        else:
            recordings = [self._recordings[database]] if database in self._recordings else []
        for recording in recordings:
            recording.append(
                Command(
                    name=event.command_name,
                    collection=collection,
                    in_transaction="txnNumber" in event.command and "autocommit" in event.command,
                    document=dict(event.command),
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
