"""Stripe's list and search results: filters, `limit`, and cursor pagination, newest first."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_emulator import errors
from stripe_emulator.objects import JsonObject, list_object
from stripe_emulator.state import Store

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_RANGE_TESTS = {
    "gt": lambda value, bound: value > bound,
    "gte": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "lte": lambda value, bound: value <= bound,
}


def in_range(items: list[JsonObject], params: Mapping[str, Any], field: str) -> list[JsonObject]:
    """Keep items whose `field` matches `params[field]`: an exact int or {gt, gte, lt, lte}."""
    return [item for item in items if within(item, params, field)]


def within(item: JsonObject, params: Mapping[str, Any], field: str) -> bool:
    """Whether the item's `field` matches `params[field]` (an exact int or {gt, gte, lt, lte}), if given."""
    bounds = params.get(field)
    if bounds is None:
        return True
    if isinstance(bounds, int):
        return bool(item[field] == bounds)
    return all(_RANGE_TESTS[test](item[field], bound) for test, bound in bounds.items())


def matches(item: JsonObject, params: Mapping[str, Any], fields: Mapping[str, str]) -> bool:
    """Whether the item's field equals the parameter, for each (parameter, field) given."""
    return all(item.get(field) == params[param] for param, field in fields.items() if param in params)


@dataclass(frozen=True)
class ListScope:
    """The objects a list's cursors may name: every object of its type on its account.

    Stripe accepts as `starting_after`/`ending_before` any existing object of the list's type,
    whether or not the list's filters keep it, and pages by creation order around it.
    """

    store: Store
    object_type: str
    owner: str | None = None

    def position(self, object_id: str, param: str) -> int:
        sequence = self.store.sequence_of(self.object_type, object_id, self.owner)
        if sequence is None:
            raise errors.no_such_param(self.object_type, object_id, param)
        return sequence


def list_page(items: list[JsonObject], params: Mapping[str, Any], url: str, scope: ListScope) -> JsonObject:
    """A page of `items` (newest first, all of `scope`'s type and account)."""
    limit = _limit(params)
    if "starting_after" in params:
        cursor = scope.position(params["starting_after"], "starting_after")
        after = [item for item in items if scope.position(item["id"], "id") < cursor]
        return list_object(url, after[:limit], has_more=len(after) > limit)
    if "ending_before" in params:
        cursor = scope.position(params["ending_before"], "ending_before")
        before = [item for item in items if scope.position(item["id"], "id") > cursor]
        return list_object(url, before[-limit:], has_more=len(before) > limit)
    return list_object(url, items[:limit], has_more=len(items) > limit)


def walked_page(
    scope: ListScope, keep: Callable[[JsonObject], bool], params: Mapping[str, Any], url: str
) -> JsonObject:
    """A page of the objects of `scope` that `keep` keeps, walked from the cursor: a page costs
    its own length (plus the objects the filters skip), not the length of the whole list."""
    limit = _limit(params)
    store, object_type, owner = scope.store, scope.object_type, scope.owner
    if "ending_before" in params:
        cursor = scope.position(params["ending_before"], "ending_before")
        newer = list(
            itertools.islice(
                filter(keep, store.walk_oldest_first(object_type, owner, after=cursor)), limit + 1
            )
        )
        return list_object(url, list(reversed(newer[:limit])), has_more=len(newer) > limit)
    before = (
        scope.position(params["starting_after"], "starting_after") if "starting_after" in params else None
    )
    older = list(
        itertools.islice(filter(keep, store.walk_newest_first(object_type, owner, before=before)), limit + 1)
    )
    return list_object(url, older[:limit], has_more=len(older) > limit)


def search_page(items: list[JsonObject], params: Mapping[str, Any], url: str) -> JsonObject:
    """A search result page; `page` is the opaque token of the previous page's last item."""
    limit = _limit(params)
    start = _page_start(items, params["page"]) if "page" in params else 0
    rest = items[start:]
    page = rest[:limit]
    has_more = len(rest) > limit
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": page[-1]["id"] if has_more else None,
        "url": url,
    }


def _limit(params: Mapping[str, Any]) -> int:
    limit: int = params.get("limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.invalid_request(
            f"Invalid limit: must be between 1 and {MAX_LIMIT}",
            code="parameter_invalid_integer",
            param="limit",
        )
    return limit


def _page_start(items: list[JsonObject], token: str) -> int:
    """Just after the item the `page` token names (the previous page's last item)."""
    for index, item in enumerate(items):
        if item["id"] == token:
            return index + 1
    raise errors.invalid_request(f"No such object: '{token}'", code="resource_missing", param="page")
