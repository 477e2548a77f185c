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

    def require(
        self, object_type: str, object_id: str, owner: str | None = None, *, param: str = "id"
    ) -> JsonObject:
        obj = self.find(object_type, object_id, owner)
        if obj is None:
            raise errors.no_such(object_type, object_id, param=param)
        return obj

    def newest_first(self, object_type: str, owner: str | None = None) -> list[JsonObject]:
        """Objects of a type on one account (None: the platform), newest first."""
        return self._newest_first(object_type, lambda entry: entry.owner == owner)

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
