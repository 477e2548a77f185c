"""The emulator's object store: every object by id, with the account it lives on."""

from __future__ import annotations

import itertools
from collections.abc import Callable
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
        self._sequence = itertools.count()

    def add(self, obj: JsonObject, owner: str | None = None) -> JsonObject:
        self._entries[obj["id"]] = _Entry(obj, owner, next(self._sequence))
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
        return self._newest_first(object_type, lambda entry: entry.owner == owner)

    def owned(self, object_type: str) -> list[tuple[str | None, JsonObject]]:
        """(account, object) for every object of a type, oldest first; None is the platform."""
        entries = [entry for entry in self._entries.values() if entry.obj["object"] == object_type]
        entries.sort(key=lambda entry: entry.sequence)
        return [(entry.owner, entry.obj) for entry in entries]

    def all_newest_first(self, object_type: str) -> list[JsonObject]:
        """Objects of a type on every account, newest first."""
        return self._newest_first(object_type, lambda entry: True)

    def _newest_first(self, object_type: str, belongs: Callable[[_Entry], bool]) -> list[JsonObject]:
        entries = [
            entry for entry in self._entries.values() if entry.obj["object"] == object_type and belongs(entry)
        ]
        entries.sort(key=lambda entry: entry.sequence, reverse=True)
        return [entry.obj for entry in entries]

    def clear(self) -> None:
        self._entries.clear()
