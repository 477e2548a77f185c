"""The `expand[]` parameter: ids in a response replaced by the objects they name."""

from __future__ import annotations

from typing import Any

from stripe_emulator.objects import JsonObject, snapshot
from stripe_emulator.state import Store


def expand(store: Store, obj: JsonObject, paths: list[str]) -> JsonObject:
    if not paths:
        return obj
    expanded = snapshot(obj)
    for path in paths:
        _expand(store, expanded, path.split("."))
    return expanded


def _expand(store: Store, node: Any, path: list[str]) -> None:
    if not path or not isinstance(node, dict):
        return
    name, rest = path[0], path[1:]
    value = node.get(name)
    if name == "data" and isinstance(value, list):
        for item in value:
            _expand(store, item, rest)
        return
    if isinstance(value, str) and (found := store.lookup(value)) is not None:
        value = node[name] = snapshot(found)
    _expand(store, value, rest)
