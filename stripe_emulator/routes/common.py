"""Handlers shared by the resources: retrieve one object, list objects."""

from __future__ import annotations

from collections.abc import Mapping

from stripe_emulator.api import ApiCall, Handler
from stripe_emulator.objects import JsonObject
from stripe_emulator.pagination import ListScope, in_range, list_page, matching


def retrieve(object_type: str, path_param: str) -> Handler:
    def handler(call: ApiCall) -> JsonObject:
        return call.emu.store.require(object_type, call.path[path_param], call.account)

    return handler


def listing(
    object_type: str,
    url: str,
    *,
    equal: Mapping[str, str] | None = None,
    ranges: tuple[str, ...] = ("created",),
) -> Handler:
    """List `object_type` on the calling account; `equal` maps filter parameters to fields."""

    def handler(call: ApiCall) -> JsonObject:
        store = call.emu.store
        items = matching(store.newest_first(object_type, call.account), call.params, equal or {})
        for field in ranges:
            items = in_range(items, call.params, field)
        return list_page(items, call.params, url, ListScope(store, object_type, call.account))

    return handler
