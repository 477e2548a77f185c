"""Test harness controls: reset, configuration, injected faults, events and their delivery."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from stripe_emulator.emulator import Emulator
from stripe_emulator.faults import Fault
from stripe_emulator.objects import JsonObject, list_object
from stripe_emulator.routes.control_http import BadControlRequest, control, field
from stripe_emulator.settings import SETTLEMENTS

_RUNTIME_SETTINGS = {
    "webhook_url": str,
    "delivery_max_attempts": int,
    "delivery_backoff_seconds": float | int,
    "delivery_duplicate_rate": float | int,
    "delivery_reorder_window": int,
    "settlement": str,
    "processing_delay_seconds": float | int,
}


async def _reset(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    emu.reset()
    return {"reset": True}


async def _get_config(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return dataclasses.asdict(emu.config)


async def _set_config(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    unknown = set(body) - set(_RUNTIME_SETTINGS)
    if unknown:
        raise BadControlRequest(f"Unknown settings: {', '.join(sorted(unknown))}")
    for name, kind in _RUNTIME_SETTINGS.items():
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, kind):
                raise BadControlRequest(f"'{name}' has the wrong type")
            if name == "settlement" and value not in SETTLEMENTS:
                raise BadControlRequest(f"'settlement' must be one of {', '.join(SETTLEMENTS)}")
            if name == "delivery_duplicate_rate" and not (isinstance(value, int | float) and 0 <= value <= 1):
                raise BadControlRequest("'delivery_duplicate_rate' is a number between 0 and 1")
            if name == "delivery_reorder_window" and not (isinstance(value, int) and value >= 1):
                raise BadControlRequest("'delivery_reorder_window' is a whole number of at least 1")
            setattr(emu.config, name, value)
    return dataclasses.asdict(emu.config)


async def _add_fault(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    try:
        emu.faults.add(Fault(**body))
    except TypeError as error:
        raise BadControlRequest(str(error)) from None
    return {"faults": emu.faults.pending()}


async def _list_faults(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return {"faults": emu.faults.pending()}


async def _clear_faults(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    emu.faults.clear()
    return {"faults": []}


async def _events(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    """Every event, platform and connected accounts, newest first; `?type=` filters, `?after=`
    (an event id) keeps those created after that event."""
    after = request.query_params.get("after")
    if after is not None and emu.store.find("event", after, emu.store.owner_of(after)) is None:
        raise BadControlRequest(f"No such event: '{after}'")
    events = emu.store.all_newest_first("event", after=after)
    event_type = request.query_params.get("type")
    if event_type:
        events = [event for event in events if event["type"] == event_type]
    return list_object("/_emulator/events", events)


async def _deliver(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    """Deliver an event again, `times` times; `wait: true` answers with the attempts made."""
    event = emu.store.lookup(request.path_params["id"])
    if event is None or event["object"] != "event":
        raise BadControlRequest(f"No such event: '{request.path_params['id']}'")
    times = field(body, "times", int, 1)
    if field(body, "wait", bool, False):
        return {"deliveries": await emu.webhooks.deliver_now(event, times)}
    emu.webhooks.redeliver(event, times)
    return {"queued": times}


async def _deliveries(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    """Delivery attempts, oldest first; `?event_id=` filters."""
    records = emu.webhooks.deliveries
    event_id = request.query_params.get("event_id")
    if event_id:
        records = [record for record in records if record["event_id"] == event_id]
    return {"data": records}


async def _delivery_status(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    return emu.webhooks.status()


async def _set_delivery(request: Request, emu: Emulator, body: dict[str, Any]) -> JsonObject:
    paused = field(body, "paused", bool)
    if paused is not None:
        emu.webhooks.set_paused(paused)
    return emu.webhooks.status()


ROUTES = [
    Route("/_emulator/reset", control(_reset), methods=["POST"]),
    Route("/_emulator/config", control(_get_config), methods=["GET"]),
    Route("/_emulator/config", control(_set_config), methods=["POST"]),
    Route("/_emulator/faults", control(_add_fault), methods=["POST"]),
    Route("/_emulator/faults", control(_list_faults), methods=["GET"]),
    Route("/_emulator/faults", control(_clear_faults), methods=["DELETE"]),
    Route("/_emulator/events", control(_events), methods=["GET"]),
    Route("/_emulator/events/{id}/deliver", control(_deliver), methods=["POST"]),
    Route("/_emulator/deliveries", control(_deliveries), methods=["GET"]),
    Route("/_emulator/delivery", control(_delivery_status), methods=["GET"]),
    Route("/_emulator/delivery", control(_set_delivery), methods=["POST"]),
]
