"""The emulator's object store: every object by id, with the account it lives on.

Objects of each type are also kept in creation order, so a list walks only its own type and a
page starts at its cursor: paging through many objects costs each page its own length.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from stripe_emulator import errors
from stripe_emulator.objects import JsonObject


@dataclass
class _Entry:
    obj: JsonObject
    owner: str | None
    sequence: int


class Store:
    """Objects keyed by id. `owner` is the connected account holding it, None for the platform."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._by_type: dict[str, list[_Entry]] = defaultdict(list)
        self._sequence = itertools.count()

    def add(self, obj: JsonObject, owner: str | None = None) -> JsonObject:
        previous = self._entries.get(obj["id"])
        if previous is not None:
            self._by_type[previous.obj["object"]].remove(previous)
        entry = _Entry(obj, owner, next(self._sequence))
        self._entries[obj["id"]] = entry
        self._by_type[obj["object"]].append(entry)
        return obj

    def lookup(self, object_id: str) -> JsonObject | None:
        entry = self._entries.get(object_id)
        return entry.obj if entry else None

    def owner_of(self, object_id: str) -> str | None:
        entry = self._entries.get(object_id)
        return entry.owner if entry else None

    def find(self, object_type: str, object_id: str, owner: str | None = None) -> JsonObject | None:
        entry = self._entries.get(object_id)
        if entry is None or entry.obj["object"] != object_type or entry.owner != owner:
            return None
        return entry.obj

    def require(self, object_type: str, object_id: str, owner: str | None = None) -> JsonObject:
        """The object named in the request's path; a 404 when there is none."""
        obj = self.find(object_type, object_id, owner)
        if obj is None:
            raise errors.no_such(object_type, object_id)
        return obj

    def require_param(
        self, object_type: str, object_id: str, param: str, owner: str | None = None
    ) -> JsonObject:
        """The object named by the request parameter `param`; a 400 when there is none."""
        obj = self.find(object_type, object_id, owner)
        if obj is None:
            raise errors.no_such_param(object_type, object_id, param)
        return obj

    def sequence_of(self, object_type: str, object_id: str, owner: str | None = None) -> int | None:
        """Where the object stands in creation order, if it is an object of that type and account."""
        if self.find(object_type, object_id, owner) is None:
            return None
        return self._entries[object_id].sequence

    def newest_first(self, object_type: str, owner: str | None = None) -> list[JsonObject]:
        """Objects of a type on one account (None: the platform), newest first."""
        return list(self.walk_newest_first(object_type, owner))

    def walk_newest_first(
        self, object_type: str, owner: str | None = None, *, before: int | None = None
    ) -> Iterator[JsonObject]:
        """Objects of a type on one account, newest first, created before the `before` sequence."""
        entries = self._by_type.get(object_type, [])
        end = len(entries) if before is None else _index_of(entries, before)
        return (entry.obj for entry in _reversed(entries, end) if entry.owner == owner)

    def walk_oldest_first(self, object_type: str, owner: str | None, *, after: int) -> Iterator[JsonObject]:
        """Objects of a type on one account, oldest first, created after the `after` sequence."""
        entries = self._by_type.get(object_type, [])
        start = _index_of(entries, after + 1)
        return (entry.obj for entry in itertools.islice(entries, start, None) if entry.owner == owner)

    def owned(self, object_type: str) -> list[tuple[str | None, JsonObject]]:
        """(account, object) for every object of a type, oldest first; None is the platform."""
        return [(entry.owner, entry.obj) for entry in self._by_type.get(object_type, [])]

    def all_newest_first(self, object_type: str, *, after: str | None = None) -> list[JsonObject]:
        """Objects of a type on every account, newest first; with `after` (the id of one of them),
        only those created after it, so a poller reads each object once."""
        entries = self._by_type.get(object_type, [])
        start = 0 if after is None else _index_of(entries, self._entries[after].sequence + 1)
        return [entries[index].obj for index in range(len(entries) - 1, start - 1, -1)]

    def clear(self) -> None:
        self._entries.clear()
        self._by_type.clear()


def _index_of(entries: list[_Entry], sequence: int) -> int:
    """The place of the first entry at or after `sequence` (entries are in creation order)."""
    return bisect.bisect_left(entries, sequence, key=lambda entry: entry.sequence)


def _reversed(entries: list[_Entry], end: int) -> Iterator[_Entry]:
    return (entries[index] for index in range(end - 1, -1, -1))
