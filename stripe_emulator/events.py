"""Events: every state change is recorded as a Stripe Event and handed to webhook delivery."""

from __future__ import annotations

from contextvars import ContextVar
from typing import NamedTuple

from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_id
from stripe_emulator.objects import JsonObject, from_fixture, snapshot
from stripe_emulator.versions import API_VERSION


class RequestOrigin(NamedTuple):
    """The API request causing the current change; both None for changes made by controls."""

    request_id: str | None = None
    idempotency_key: str | None = None


NO_REQUEST = RequestOrigin()
request_origin: ContextVar[RequestOrigin] = ContextVar("request_origin", default=NO_REQUEST)


def emit(
    emu: Emulator,
    event_type: str,
    obj: JsonObject,
    *,
    account: str | None = None,
    previous: JsonObject | None = None,
) -> JsonObject:
    """Record an event about `obj`; `account` marks an event of a connected account."""
    origin = request_origin.get()
    data: JsonObject = {"object": snapshot(obj)}
    if previous:
        data["previous_attributes"] = previous
    event = from_fixture(
        "event",
        id=new_id("evt"),
        api_version=API_VERSION,
        created=emu.clock.now(),
        data=data,
        livemode=False,
        pending_webhooks=1 if emu.webhooks.enabled else 0,
        request={"id": origin.request_id, "idempotency_key": origin.idempotency_key},
        type=event_type,
    )
    if account is not None:
        event["account"] = account
    emu.store.add(event, owner=account)
    emu.webhooks.enqueue(event)
    return event
