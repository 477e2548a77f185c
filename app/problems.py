"""The one mapping from errors to RFC 9457 problem documents, and the errors of HTTP itself.

Every problem the service answers goes through `answer`, which adds the request's path as
`instance` and counts it in `http_problems_total` by route, method, status and code. The test
session reads that counter to prove every code a route answered is in its OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidRequest, NotFound, ServiceError
from app.observability import route_template

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

PROBLEMS_ANSWERED = Counter(
    "http_problems_total",
    "Problem documents answered, by route, method, status and code",
    ["route", "method", "status", "code"],
)


class MalformedJson(ServiceError):
    code = "malformed_json"
    status = 400
    title = "The body is not valid JSON"


class RequestTooLarge(ServiceError):
    code = "request_too_large"
    status = 413
    title = "The request body is too large"
    members: ClassVar[Mapping[str, Any]] = {"limit": int}


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"
    status = 415
    title = "The request body must be JSON"


class MethodNotAllowed(ServiceError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class InternalError(ServiceError):
    code = "internal_error"
    status = 500
    title = "Internal error"


class StoredProblem(Exception):
    """A problem document answered before, to be sent again exactly (an idempotent replay)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("detail"))
        self.status = status
        self.body = body
        self.headers = headers


def answer(
    scope: Scope, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """The problem response of `body`, counted by route and code."""
    PROBLEMS_ANSWERED.labels(route_template(scope), scope["method"], str(status), body["code"]).inc()
    headers = dict(headers or {})
    if status == HTTPStatus.UNAUTHORIZED:
        headers.setdefault("WWW-Authenticate", "Bearer")
    document = {**body, "instance": scope["path"]}
    return JSONResponse(document, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_response(scope: Scope, error: ServiceError, headers: dict[str, str] | None = None) -> JSONResponse:
    return answer(scope, error.status, error.as_problem(), headers)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status >= 500:
        log.error("service_error", code=exc.code, detail=exc.detail)
    return error_response(request.scope, exc)


async def _stored_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoredProblem)
    return answer(request.scope, exc.status, exc.body, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Pydantic's `input` and `ctx` are left out: they echo what the client sent.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return error_response(request.scope, InvalidRequest(detail, errors=errors))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the path takes: Starlette names only the first route's, and a
    path may have one route per method (`GET /payouts`, `POST /payouts`)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is Match.PARTIAL:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals: a path no route matches, or a method the path does not take."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.NOT_FOUND:
        return error_response(request.scope, NotFound(f"no route {request.url.path}"), headers)
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(
            request.scope, MethodNotAllowed(f"{request.url.path} does not take {request.method}"), headers
        )
    phrase = HTTPStatus(exc.status_code).phrase
    body = {
        "type": "about:blank#http_error",
        "title": phrase,
        "status": exc.status_code,
        "detail": str(exc.detail),
        "code": "http_error",
    }
    return answer(request.scope, exc.status_code, body, headers)


class UnexpectedErrors:
    """Answers an exception no handler took with a 500 problem, and logs it once, as JSON.

    Starlette's own last-resort handler re-raises after answering, so the server logged every
    crash a second time, as text; this middleware sits inside it and lets nothing through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled_error", path=scope["path"], method=scope["method"])
            if not response_started:
                error = InternalError(
                    "An unexpected error occurred; the request id identifies it in the logs."
                )
                await error_response(scope, error)(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StoredProblem, _stored_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(UnexpectedErrors)
