"""The `/v1` API: authentication, API version, faults, routing, parameters, idempotency,
expansion, responses."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import RequestOrigin, request_origin
from stripe_emulator.expansion import Returns, check_paths, expand
from stripe_emulator.faults import Fault
from stripe_emulator.formencoding import FormDict, FormEncodingError, decode
from stripe_emulator.idempotency import StoredResponse, fingerprint
from stripe_emulator.ids import new_request_id
from stripe_emulator.objects import JsonObject
from stripe_emulator.params import Fields, schema_for, validate
from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.versions import API_VERSION, RELEASED_VERSIONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiCall:
    """What a route handler gets: the emulator and the validated request."""

    emu: Emulator
    params: dict[str, Any]
    path: dict[str, str]
    account: str | None
    """The connected account named by `Stripe-Account`; None for the platform."""
    base_url: str
    publishable: bool = False
    """Authenticated with the publishable key (as Stripe.js is), not the secret key."""


Handler = Callable[[ApiCall], JsonObject]


class ApiRoute:
    """A Stripe endpoint: its method, path template, SDK parameter type, handler, and the Stripe
    object it answers (for checking `expand[]`). `publishable_params`, when given, are the
    parameters a publishable key may send; without it the endpoint wants the secret key."""

    def __init__(
        self,
        method: str,
        template: str,
        params_type: type,
        handler: Handler,
        returns: Returns,
        *,
        publishable_params: Fields | None = None,
    ) -> None:
        self.method = method
        self.params_type = params_type
        schema_for(params_type)  # an SDK type the emulator cannot read fails at startup
        self.handler = handler
        self.returns = returns
        self.publishable_params = publishable_params
        self._pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))

    def params_for(self, publishable: bool) -> type | Fields:
        if not publishable:
            return self.params_type
        if self.publishable_params is None:
            raise errors.publishable_key_not_allowed()
        return self.publishable_params

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self._pattern.fullmatch(path)
        return found.groupdict() if found else None


class ResponseDropped(Exception):
    """Raised once the headers are sent, so the server closes the connection mid-response."""


class _DroppedResponseFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseDropped))


def hide_dropped_responses() -> None:
    """Keep uvicorn from logging the tracebacks of responses dropped on purpose."""
    server_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedResponseFilter) for f in server_logger.filters):
        server_logger.addFilter(_DroppedResponseFilter())


@dataclass(frozen=True)
class _Incoming:
    method: str
    path: str
    route: ApiRoute
    path_params: dict[str, str]
    raw_params: FormDict
    account: str | None
    idempotency_key: str | None
    request_id: str
    base_url: str
    publishable: bool


class ApiApp:
    """ASGI app serving the Stripe endpoints in `routes`."""

    def __init__(self, emu: Emulator, routes: list[ApiRoute]) -> None:
        self._emu = emu
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response, drop = await self._respond(request)
        if not drop:
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        raise ResponseDropped

    async def _respond(self, request: Request) -> tuple[Response, bool]:
        request_id = new_request_id()
        fault = self._emu.faults.take(request.method, request.url.path)
        try:
            # Received in full before any injected latency: a client that then times out
            # leaves a request that still completes, as a slow Stripe does.
            await request.body()
            response = await self._handle(request, request_id, fault)
        except errors.StripeError as error:
            response = _error_response(error, request_id)
        except Exception:
            logger.exception("Emulator failure on %s %s", request.method, request.url.path)
            response = _error_response(errors.api_error(), request_id)
        return response, fault is not None and fault.drop_response

    async def _handle(self, request: Request, request_id: str, fault: Fault | None) -> Response:
        publishable = _authenticate(request, self._emu.config)
        _check_api_version(request)
        method, path = request.method, request.url.path
        route, path_params = self._route(method, path)
        route.params_for(publishable)  # a publishable key reaches only the endpoints Stripe.js uses
        key = request.headers.get("idempotency-key") if method == "POST" else None
        incoming = _Incoming(
            method=method,
            path=path,
            route=route,
            path_params=path_params,
            raw_params=await _read_params(request),
            account=self._account(request),
            idempotency_key=key,
            request_id=request_id,
            base_url=str(request.base_url).rstrip("/"),
            publishable=publishable,
        )
        if key is None:
            await _inject(fault)
            return self._execute(incoming)
        return await self._execute_once(incoming, key, fault)

    def _route(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]]:
        for route in self._routes:
            path_params = route.match(method, path)
            if path_params is not None:
                return route, path_params
        raise errors.unrecognized_url(method, path)

    def _account(self, request: Request) -> str | None:
        account = request.headers.get("stripe-account")
        if not account or account == self._emu.platform_account_id:
            return None
        if self._emu.store.find("account", account) is None:
            raise errors.account_invalid(account)
        return account

    async def _execute_once(self, incoming: _Incoming, key: str, fault: Fault | None) -> Response:
        """Run the request once per key; replay the stored response to a repeat of it. The key is
        held while the request runs (an injected delay included): a second request with it
        meanwhile is refused with 409 `idempotency_key_in_use`, as Stripe refuses it."""
        scope = (incoming.account, key)
        request_fingerprint = fingerprint(incoming.method, incoming.path, incoming.raw_params)
        store = self._emu.idempotency
        if not store.claim(scope):
            raise errors.idempotency_key_in_use()
        try:
            await _inject(fault)
            stored = store.get(scope)
            if stored is not None:
                if stored.fingerprint != request_fingerprint:
                    raise errors.idempotency_mismatch(key)
                return _replay(stored, incoming.request_id)
            response = self._execute(incoming)
            store.save(
                scope,
                StoredResponse(
                    fingerprint=request_fingerprint,
                    status=response.status_code,
                    body=bytes(response.body),
                    headers=_replayable_headers(response),
                    request_id=incoming.request_id,
                ),
            )
            return response
        finally:
            store.release(scope)

    def _execute(self, incoming: _Incoming) -> Response:
        """Validate and run the request; errors raised by validation are not idempotent results."""
        route = incoming.route
        params = validate(route.params_for(incoming.publishable), incoming.raw_params)
        paths = params.get("expand", [])
        check_paths(route.returns, paths)
        call = ApiCall(
            self._emu,
            params,
            incoming.path_params,
            incoming.account,
            incoming.base_url,
            incoming.publishable,
        )
        token = request_origin.set(RequestOrigin(incoming.request_id, incoming.idempotency_key))
        try:
            result = expand(self._emu.store, route.handler(call), paths)
            return _json_response(200, result, incoming.request_id, incoming.idempotency_key)
        except errors.StripeError as error:
            return _error_response(error, incoming.request_id, incoming.idempotency_key)
        finally:
            request_origin.reset(token)


async def _inject(fault: Fault | None) -> None:
    """An injected fault: wait, then fail without doing the work when it names an error."""
    if fault is None:
        return
    await fault.delay()
    if (error := fault.error()) is not None:
        raise error


def _authenticate(request: Request, settings: EmulatorSettings) -> bool:
    """Check the API key; True when it is the publishable key rather than the secret key."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    key = credentials.strip() if scheme.lower() == "bearer" else ""
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise errors.missing_api_key()
    if key not in (settings.api_key, settings.publishable_key):
        raise errors.invalid_api_key(key)
    return key == settings.publishable_key


def _check_api_version(request: Request) -> None:
    """No `Stripe-Version` means the account's default version, which is the emulator's."""
    version = request.headers.get("stripe-version")
    if version is None or version == API_VERSION:
        return
    if version in RELEASED_VERSIONS:
        raise errors.unemulated_api_version(version, API_VERSION)
    raise errors.invalid_api_version(version)


async def _read_params(request: Request) -> FormDict:
    body = (await request.body()).decode() if request.method == "POST" else request.url.query
    try:
        return decode(body)
    except FormEncodingError as error:
        raise errors.invalid_request(str(error), param=error.key) from None


def _headers(request_id: str, idempotency_key: str | None) -> dict[str, str]:
    headers = {
        "Request-Id": request_id,
        "Stripe-Version": API_VERSION,
        "Cache-Control": "no-cache, no-store",
    }
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _json_response(
    status: int, body: JsonObject, request_id: str, idempotency_key: str | None = None
) -> Response:
    return Response(
        json.dumps(body, indent=2),
        status_code=status,
        headers=_headers(request_id, idempotency_key),
        media_type="application/json",
    )


def _error_response(
    error: errors.StripeError, request_id: str, idempotency_key: str | None = None
) -> Response:
    response = _json_response(error.status, error.body(request_id), request_id, idempotency_key)
    response.headers.update(error.headers())
    return response


def _replayable_headers(response: Response) -> dict[str, str]:
    skipped = {"request-id", "content-length", "content-type"}
    return {name: value for name, value in response.headers.items() if name not in skipped}


def _replay(stored: StoredResponse, request_id: str) -> Response:
    headers = {
        **stored.headers,
        "Request-Id": request_id,
        "Original-Request": stored.request_id,
        "Idempotent-Replayed": "true",
    }
    return Response(stored.body, status_code=stored.status, headers=headers, media_type="application/json")
