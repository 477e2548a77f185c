"""What the service wrote while a test watched, and who wrote it: each write command with the
writer that sent it (`tests/services/audit/writers.py`), its transaction, whether that
transaction committed and whether it inserted an audit record; and every writer called.

The writer is found on the stack of the command (PyMongo publishes a command's start in the
coroutine that sends it, so the stack reaches back through every `await` to the repository), and
the calls through a profile hook, which also sees the writers that only build a write for another
function to send (`OrderRepository.release_write`). The listener is registered when this module is
imported, before any client exists, and records only while a test asks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from pymongo import monitoring

from app.db import Collections
from tests.services.audit.writers import ROOT

APP = str(ROOT / "app")
WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify", "bulkWrite"})
Transaction = tuple[bytes, int]


@dataclass(slots=True)
class Write:
    writer: str | None  # None: no writer of the service sent it (the test's own set-up)
    command: str
    collections: tuple[str, ...]
    transaction: Transaction | None
    changed: bool = False  # what the server answered: a document inserted, changed or deleted


@dataclass
class Trail:
    database: str
    writers: frozenset[str]
    writes: list[Write] = field(default_factory=list)
    called: set[str] = field(default_factory=set)
    audited: set[Transaction] = field(default_factory=set)
    committed: set[Transaction] = field(default_factory=set)

    def writes_of(self, writer: str) -> list[Write]:
        """The writes `writer` sent that changed something (a compare-and-set that matched)."""
        return [write for write in self.writes if write.writer == writer and write.changed]

    def is_audited(self, write: Write) -> bool:
        """Sent in a transaction that committed with an audit record."""
        return write.transaction in self.committed and write.transaction in self.audited


def frame_name(frame: FrameType) -> str:
    return f"{frame.f_globals.get('__name__')}:{frame.f_code.co_qualname}"


class WriteTrails(monitoring.CommandListener):
    def __init__(self) -> None:
        self._trail: Trail | None = None
        self._commits: dict[int, Transaction] = {}
        self._sent: dict[int, Write] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        trail = self._trail
        if trail is None:
            return
        command: Mapping[str, Any] = event.command
        transaction = _transaction(command)
        if event.command_name == "commitTransaction" and transaction is not None:
            self._commits[event.request_id] = transaction
            return
        if event.command_name not in WRITE_COMMANDS:
            return
        database, collections = _target(event)
        if database != trail.database:
            return
        if Collections.AUDIT_PENDING in collections and transaction is not None:
            trail.audited.add(transaction)
        write = Write(_writer(sys._getframe(), trail.writers), event.command_name, collections, transaction)
        trail.writes.append(write)
        self._sent[event.request_id] = write

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        committed = self._commits.pop(event.request_id, None)
        if committed is not None and self._trail is not None:
            self._trail.committed.add(committed)
        write = self._sent.pop(event.request_id, None)
        if write is not None:
            write.changed = _changed(write.command, event.reply)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._commits.pop(event.request_id, None)
        self._sent.pop(event.request_id, None)

    @contextmanager
    def following(self, database: str, writers: frozenset[str]) -> Iterator[Trail]:
        """The writes to `database` while the block runs, and the writers called."""
        trail = Trail(database, writers)

        def profile(frame: FrameType, event: str, _: object) -> None:
            if event == "call" and frame.f_code.co_filename.startswith(APP):
                name = frame_name(frame)
                if name in writers:
                    trail.called.add(name)

        self._trail = trail
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            yield trail
        finally:
            sys.setprofile(previous)
            self._trail = None


def _transaction(command: Mapping[str, Any]) -> Transaction | None:
    if "txnNumber" not in command or "lsid" not in command:
        return None
    return bytes(command["lsid"]["id"]), int(command["txnNumber"])


def _changed(command: str, reply: Mapping[str, Any]) -> bool:
    if command == "findAndModify":
        return bool(reply.get("lastErrorObject", {}).get("n"))
    if command == "update":
        return bool(reply.get("nModified") or reply.get("upserted"))
    if command == "bulkWrite":
        return any(reply.get(count) for count in ("nInserted", "nUpserted", "nModified", "nDeleted"))
    return bool(reply.get("n"))  # insert, delete


def _target(event: monitoring.CommandStartedEvent) -> tuple[str, tuple[str, ...]]:
    if event.command_name == "bulkWrite":
        namespaces = [info["ns"].split(".", 1) for info in event.command.get("nsInfo", [])]
        database = namespaces[0][0] if namespaces else event.database_name
        return database, tuple(collection for _, collection in namespaces)
    return event.database_name, (str(event.command.get(event.command_name)),)


def _writer(frame: FrameType | None, writers: frozenset[str]) -> str | None:
    """The innermost writer of the service on the stack."""
    while frame is not None:
        if frame.f_code.co_filename.startswith(APP):
            name = frame_name(frame)
            if name in writers:
                return name
        frame = frame.f_back
    return None


TRAILS = WriteTrails()
monitoring.register(TRAILS)
