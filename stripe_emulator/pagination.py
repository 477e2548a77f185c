"""Stripe's list and search results: filters, `limit`, and cursor pagination, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stripe_emulator import errors
from stripe_emulator.objects import JsonObject, list_object

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
    bounds = params.get(field)
    if bounds is None:
        return items
    if isinstance(bounds, int):
        return [item for item in items if item[field] == bounds]
    return [
        item
        for item in items
        if all(_RANGE_TESTS[test](item[field], bound) for test, bound in bounds.items())
    ]


def matching(
    items: list[JsonObject], params: Mapping[str, Any], fields: Mapping[str, str]
) -> list[JsonObject]:
    """Keep items whose field equals the parameter, for each (parameter, field) given."""
    for param, field in fields.items():
        if param in params:
            items = [item for item in items if item.get(field) == params[param]]
    return items


def list_page(items: list[JsonObject], params: Mapping[str, Any], url: str) -> JsonObject:
    limit = _limit(params)
    if "starting_after" in params:
        after = items[_position(items, params["starting_after"], "starting_after") + 1 :]
        return list_object(url, after[:limit], has_more=len(after) > limit)
    if "ending_before" in params:
        before = items[: _position(items, params["ending_before"], "ending_before")]
        return list_object(url, before[-limit:], has_more=len(before) > limit)
    return list_object(url, items[:limit], has_more=len(items) > limit)


def search_page(items: list[JsonObject], params: Mapping[str, Any], url: str) -> JsonObject:
    """A search result page; `page` is the opaque token of the previous page's last item."""
    limit = _limit(params)
    start = _position(items, params["page"], "page") + 1 if "page" in params else 0
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


def _position(items: list[JsonObject], object_id: str, param: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == object_id:
            return index
    raise errors.invalid_request(f"No such object: '{object_id}'", code="resource_missing", param=param)
