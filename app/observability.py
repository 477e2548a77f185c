"""Structured JSON logs with request context, and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_NAME = REQUEST_ID_HEADER.encode()
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Keys whose values never reach a log line, whatever logs them.
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "token",
        "access_token",
        "client_secret",
        "api_key",
        "secret",
        "password",
        "card",
        "card_number",
        "stripe_secret_key",
        "signature",
    }
)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency by route and method", ["route", "method"]
)


def _redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event.keys() & _SECRET_KEYS:
        event[key] = "[redacted]"
    return event


# Third-party loggers that narrate every HTTP call: the service logs each Stripe call itself
# (`stripe_call`, with its ids and duration), so theirs are kept to warnings and above.
_CHATTY_LIBRARIES = ("stripe", "httpx", "httpcore")


class _JsonLines(logging.StreamHandler[TextIO]):
    """Standard-library records (uvicorn's, the libraries') as the same JSON lines."""


def configure_logging(level: str = "INFO") -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
        # Not cached: the configuration must stay swappable (tests capture logs after start-up).
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(level, shared)


def _route_standard_logging(level: str, shared: list[structlog.typing.Processor]) -> None:
    handler = _JsonLines(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    # Configured again (a test, a second app): one handler of ours, the others' left in place.
    root.handlers = [*(h for h in root.handlers if not isinstance(h, _JsonLines)), handler]
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelName(level))
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == _REQUEST_ID_HEADER_NAME:
            candidate: str = bytes(value).decode("latin-1")
            if _REQUEST_ID_PATTERN.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    # Unmatched paths share one label so random URLs cannot blow up metric cardinality.
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Binds a request id to every log line of a request, echoes it back, and records metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((_REQUEST_ID_HEADER_NAME, request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            route, method, elapsed = route_template(scope), scope["method"], time.perf_counter() - started
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_LATENCY.labels(route, method).observe(elapsed)
            # The query string is left out: cursors and filters are not worth the risk of leaking.
            log.info(
                "http_request",
                method=method,
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
