"""Every log line is one JSON object: the service's own and those of the standard library's
loggers (uvicorn, the libraries), with the request's context; the libraries that narrate each
HTTP call are kept to warnings."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.observability import configure_logging

# A library's logger, as uvicorn's are under `python -m app serve` (no logging config of its own:
# its records propagate to the root logger). The tests' own servers configure uvicorn's loggers.
LIBRARY = "a_library"


@pytest.fixture(autouse=True)
def standard_logging_restored() -> Iterator[None]:
    """Each test configures logging itself (its stdout is the captured one); the root logger's
    handlers and level are put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level


def read(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_standard_library_record_is_a_json_line_with_the_request_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        logging.getLogger(LIBRARY).warning("Application startup failed: %s", "database unreachable")
    finally:
        structlog.contextvars.clear_contextvars()

    [line] = read(capsys)
    assert line["event"] == "Application startup failed: database unreachable"
    assert (line["logger"], line["level"], line["request_id"]) == (LIBRARY, "warning", "req-1")
    assert "timestamp" in line


def test_the_libraries_narrating_each_http_call_log_only_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    logging.getLogger("stripe").info("Request to Stripe api")
    logging.getLogger("httpx").info("HTTP Request: GET http://stripe/v1/balance")
    logging.getLogger("stripe").warning("retrying")
    structlog.get_logger("app").info("stripe_call", operation="balance.retrieve")

    assert [(line["event"], line["level"]) for line in read(capsys)] == [
        ("retrying", "warning"),
        ("stripe_call", "info"),
    ]


def test_configured_twice_each_line_is_written_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    configure_logging("INFO")
    logging.getLogger(LIBRARY).info("started")

    assert [line["event"] for line in read(capsys)] == ["started"]


def test_a_standard_library_exception_keeps_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger(LIBRARY).exception("Exception in ASGI application")

    [line] = read(capsys)
    assert line["event"] == "Exception in ASGI application"
    assert isinstance(line["exception"], str)
    assert "Traceback (most recent call last)" in line["exception"]
    assert "KeyError: 'missing'" in line["exception"]
