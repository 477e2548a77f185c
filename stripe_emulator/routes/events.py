"""Routes of events."""

from __future__ import annotations

from fnmatch import fnmatchcase

from stripe.params import EventListParams, EventRetrieveParams

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.objects import JsonObject
from stripe_emulator.pagination import in_range, list_page
from stripe_emulator.routes.common import retrieve


def _list(call: ApiCall) -> JsonObject:
    """Events filtered by `type` (`*` is a wildcard, as in `charge.dispute.*`) or `types`."""
    patterns = call.params.get("types") or [call.params.get("type", "*")]
    events = [
        event
        for event in call.emu.store.newest_first("event", call.account)
        if any(fnmatchcase(event["type"], pattern) for pattern in patterns)
    ]
    return list_page(in_range(events, call.params, "created"), call.params, "/v1/events")


ROUTES = [
    ApiRoute("GET", "/v1/events", EventListParams, _list),
    ApiRoute("GET", "/v1/events/{event}", EventRetrieveParams, retrieve("event", "event")),
]
