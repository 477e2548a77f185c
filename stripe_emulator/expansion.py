"""The `expand[]` parameter: paths checked against the SDK's resource types, then ids in the
response replaced by the objects they name.

A field is expandable where the SDK types it `ExpandableField[...]` (a union of the id and the
object) or as a `ListObject` (an includable list), as Stripe's OpenAPI `x-expandableFields` do.
Any other path is refused as Stripe refuses it: 400 "This property cannot be expanded (path).",
with the `data.` hint on lists; more than four levels is `property_expansion_max_depth`.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ForwardRef, TypeAlias, Union, get_args, get_origin

import stripe

from stripe_emulator import errors
from stripe_emulator.objects import JsonObject, list_object, snapshot
from stripe_emulator.state import Store

MAX_DEPTH = 4


@dataclass(frozen=True)
class Listed:
    """A list or search result of `resource` objects: its expansions start with `data.`."""

    resource: type[stripe.StripeObject]


Returns: TypeAlias = type[stripe.StripeObject] | Listed
"""What an endpoint answers, for checking its `expand[]` paths."""


def _charge_refunds(store: Store, charge: JsonObject) -> JsonObject:
    refunds = [refund for refund in store.newest_first("refund") if refund["charge"] == charge["id"]]
    return list_object(f"/v1/charges/{charge['id']}/refunds", refunds)


# Lists Stripe includes only when expanded: `charge.refunds` since API version 2022-11-15
# ("The refunds property on Charge is no longer included by default").
_INCLUDABLE: dict[tuple[str, str], Callable[[Store, JsonObject], JsonObject]] = {
    ("charge", "refunds"): _charge_refunds,
}


def check_paths(returns: Returns, paths: list[str]) -> None:
    for path in paths:
        segments = path.split(".")
        if len(segments) > MAX_DEPTH:
            raise errors.expansion_too_deep(path)
        if isinstance(returns, Listed):
            if segments[0] != "data":
                hint = f"data.{path}" if _expandable(returns.resource, segments) else None
                raise errors.cannot_expand(path, hint)
            resource, segments = returns.resource, segments[1:]
        else:
            resource = returns
        if not segments or not _expandable(resource, segments):
            raise errors.cannot_expand(path)


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
    include = _INCLUDABLE.get((node.get("object", ""), name))
    if include is not None and name not in node:
        node[name] = include(store, node)
    value = node.get(name)
    if name == "data" and isinstance(value, list):
        for item in value:
            _expand(store, item, rest)
        return
    if isinstance(value, str) and (found := store.lookup(value)) is not None:
        value = node[name] = snapshot(found)
    _expand(store, value, rest)


def _expandable(resource: type, segments: list[str]) -> bool:
    name, rest = segments[0], segments[1:]
    hint = _field_hint(resource, name)
    if hint is None:
        return False
    kind, targets = _classify(hint)
    if not rest:
        return kind in ("expandable", "list")
    if kind == "list":
        return rest[0] == "data" and len(rest) > 1 and any(_expandable(t, rest[1:]) for t in targets)
    if kind in ("expandable", "nested"):
        return any(_expandable(target, rest) for target in targets)
    return False


def _field_hint(resource: type, name: str) -> Any:
    for klass in resource.__mro__:
        annotations = vars(klass).get("__annotations__", {})
        if name in annotations:
            return annotations[name]
    return None


def _classify(hint: Any) -> tuple[str, list[type]]:
    """("expandable" | "list" | "nested" | "scalar", the Stripe object classes it leads to)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is types.UnionType:
        options = [arg for arg in args if arg is not types.NoneType]
        if str in options:
            return "expandable", _classes(options)
        if len(options) == 1:
            return _classify(options[0])
        return "scalar", []
    if origin is not None and isinstance(origin, type) and issubclass(origin, stripe.ListObject):
        return "list", _classes(list(args))
    if isinstance(hint, type) and issubclass(hint, stripe.StripeObject):
        return "nested", [hint]
    return "scalar", []


def _classes(options: list[Any]) -> list[type]:
    found = []
    for option in options:
        if isinstance(option, ForwardRef):
            option = getattr(stripe, option.__forward_arg__, None)
        elif get_origin(option) is Union:
            found.extend(_classes(list(get_args(option))))
            continue
        if isinstance(option, type) and issubclass(option, stripe.StripeObject):
            found.append(option)
    return found
