"""Routes of events."""

from __future__ import annotations

from fnmatch import fnmatchcase

import stripe
from stripe.params import EventListParams, EventRetrieveParams

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.pagination import ListScope, in_range, list_page
from stripe_emulator.routes.common import retrieve


def _list(call: ApiCall) -> JsonObject:
    """Events filtered by `type` (`*` is a wildcard, as in `charge.dispute.*`) or `types`."""
    patterns = call.params.get("types") or [call.params.get("type", "*")]
    store = call.emu.store
    events = [
        event
        for event in store.newest_first("event", call.account)
        if any(fnmatchcase(event["type"], pattern) for pattern in patterns)
    ]
    scope = ListScope(store, "event", call.account)
    return list_page(in_range(events, call.params, "created"), call.params, "/v1/events", scope)


ROUTES = [
    ApiRoute("GET", "/v1/events", EventListParams, _list, Listed(stripe.Event)),
    ApiRoute("GET", "/v1/events/{event}", EventRetrieveParams, retrieve("event", "event"), stripe.Event),
]
