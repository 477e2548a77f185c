"""Handlers shared by the resources: retrieve one object, list objects."""

from __future__ import annotations

from collections.abc import Mapping

from stripe_emulator.api import ApiCall, Handler
from stripe_emulator.objects import JsonObject
from stripe_emulator.pagination import ListScope, matches, walked_page, within


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
        params = call.params

        def keep(item: JsonObject) -> bool:
            return matches(item, params, equal or {}) and all(within(item, params, field) for field in ranges)

        return walked_page(ListScope(call.emu.store, object_type, call.account), keep, params, url)

    return handler
