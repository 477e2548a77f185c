"""Plumbing of the `/_emulator` control endpoints: JSON in, JSON out, Stripe errors kept."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_request_id

ControlHandler = Callable[[Request, Emulator, dict[str, Any]], Awaitable[Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


class BadControlRequest(Exception):
    pass


def control(handler: ControlHandler) -> Endpoint:
    """Wrap a handler taking (request, emulator, JSON body) and returning JSON data."""

    async def endpoint(request: Request) -> Response:
        emu: Emulator = request.app.state.emulator
        try:
            result = await handler(request, emu, await _json_body(request))
        except errors.StripeError as error:
            return JSONResponse(error.body(new_request_id()), status_code=error.status)
        except BadControlRequest as error:
            body = {"error": {"type": errors.INVALID_REQUEST, "message": str(error)}}
            return JSONResponse(body, status_code=400)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return endpoint


def field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise BadControlRequest(f"'{name}' must be a {kind.__name__}")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadControlRequest(f"Invalid JSON body: {error}") from None
    if not isinstance(body, dict):
        raise BadControlRequest("The JSON body must be an object")
    return body
