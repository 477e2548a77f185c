"""Every MongoDB command the clients of this test process send, seen through PyMongo command
monitoring, so a test can say which commands an operation costs.

The listener is registered when this module is imported (by `tests/conftest.py`, before any
client exists); it records only while a test asks, and only for that test's database. It also
notes, always, every command sent inside a transaction that MongoDB refuses there and SecantusDB
accepts (`refused_by_mongodb_in_transactions`), so the suite fails on it.
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


# What MongoDB refuses inside a multi-document transaction (its "Transactions and Operations"):
# these commands, and these stages anywhere in a pipeline, `$lookup`'s and `$facet`'s included.
_COMMANDS_REFUSED_IN_TRANSACTIONS = frozenset(
    {"count", "listCollections", "listIndexes", "explain", "createUser", "killCursors"}
)
_STAGES_REFUSED_IN_TRANSACTIONS = frozenset(
    {
        "$collStats",
        "$currentOp",
        "$indexStats",
        "$listLocalSessions",
        "$listSessions",
        "$merge",
        "$out",
        "$planCacheStats",
        "$unionWith",
    }
)

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


def _stages(value: Any) -> Iterator[str]:
    """Every `$`-named key in a command's body, however deep (the stages of nested pipelines)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and key.startswith("$"):
                yield key
            yield from _stages(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _stages(inner)


def _refused_in_transactions(event: monitoring.CommandStartedEvent) -> str | None:
    if event.command_name in _COMMANDS_REFUSED_IN_TRANSACTIONS:
        return event.command_name
    if event.command_name == "aggregate":
        refused = set(_stages(event.command.get("pipeline", []))) & _STAGES_REFUSED_IN_TRANSACTIONS
        return ", ".join(sorted(refused)) or None
    return None


class CommandLog(monitoring.CommandListener):
    def __init__(self) -> None:
        self._recordings: dict[str, list[Command]] = {}
        self.refused_by_mongodb_in_transactions: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        in_transaction = "txnNumber" in event.command and "autocommit" in event.command
        refused = _refused_in_transactions(event) if in_transaction else None
        if refused is not None:
            self.refused_by_mongodb_in_transactions.append(f"{event.command_name} ({refused})")
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
                    in_transaction=in_transaction,
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
