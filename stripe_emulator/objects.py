"""Stripe objects built from Stripe's own fixtures, so every object has Stripe's shape.

`fixtures3.json` is Stripe's example object of every resource, copied unchanged from
`openapi/fixtures3.json` in github.com/stripe/openapi (MIT, see LICENSE-fixtures3) and pinned by
its SHA-256 in `fixtures3.json.sha256`. Builders start from a deep copy of the fixture and
overwrite the fields the emulator models.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]

_FIXTURES_FILE = Path(__file__).with_name("fixtures3.json")


@cache
def _fixtures() -> dict[str, JsonObject]:
    resources: dict[str, JsonObject] = json.loads(_FIXTURES_FILE.read_text())["resources"]
    return resources


def fixture(resource: str) -> JsonObject:
    return copy.deepcopy(_fixtures()[resource])


def from_fixture(resource: str, **fields: Any) -> JsonObject:
    obj = fixture(resource)
    obj.update(fields)
    return obj


def snapshot(obj: JsonObject) -> JsonObject:
    return copy.deepcopy(obj)


def list_object(url: str, data: list[JsonObject], *, has_more: bool = False) -> JsonObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def changed_fields(before: JsonObject, after: JsonObject) -> JsonObject:
    """Stripe's `previous_attributes`: the old value of every field that changed. A nested object
    holds only its own changed fields, a list is given whole, and a field that did not exist
    before is null (an added metadata key shows as `{"metadata": {"key": null}}`)."""
    changes: JsonObject = {}
    for key in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes[key] = changed_fields(old, new)
        else:
            changes[key] = old
    return changes


def merged_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Apply a metadata update: keys posted empty are removed, an empty `metadata` clears all."""
    if update is None:
        return current
    if update == "":
        return {}
    merged = {**current, **update}
    return {key: value for key, value in merged.items() if value != ""}


def deep_merge(target: JsonObject, update: JsonObject) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = value
