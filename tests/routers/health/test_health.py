"""Health, readiness, metrics, request ids and the problem documents of plain HTTP errors."""

import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi import FastAPI
from structlog.testing import LogCapture

from app.auth import Role
from app.observability import REQUEST_ID_HEADER
from tests.conftest import TokenFactory, bearer


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_a_request_id_is_generated_or_echoed(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers[REQUEST_ID_HEADER]) == 32
    echoed = await client.get("/healthz", headers={REQUEST_ID_HEADER: "req-abc.123"})
    assert echoed.headers[REQUEST_ID_HEADER] == "req-abc.123"
    unsafe = await client.get("/healthz", headers={REQUEST_ID_HEADER: "evil\tvalue"})
    assert unsafe.headers[REQUEST_ID_HEADER] != "evil\tvalue"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/no/such/path/123")
    body = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'route="unmatched",status="404"' in body
    assert "/no/such/path/123" not in body
    assert "http_request_duration_seconds_bucket" in body


async def test_unknown_routes_and_methods_are_problem_documents(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    wrong_method = await client.post("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_an_unexpected_error_is_a_bare_500_problem(app: FastAPI) -> None:
    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/test/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    """Log entries with their bound request context, as the JSON renderer would see them."""
    previous = structlog.get_config()
    capture = LogCapture()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    try:
        yield capture
    finally:
        structlog.configure(**previous)


async def test_each_request_is_logged_with_its_request_id_and_user_but_not_its_token(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory, captured_logs: LogCapture
) -> None:
    from tests.routers.dependencies.protected_routes import mount

    mount(app)
    secret_token = token("alice", Role.BUYER)
    await client.get(
        "/test/buyers/alice?cursor=secret", headers={**bearer(secret_token), REQUEST_ID_HEADER: "req-42"}
    )

    [line] = [entry for entry in captured_logs.entries if entry["event"] == "http_request"]
    assert line["request_id"] == "req-42"
    assert line["user_id"] == "alice"
    assert (line["route"], line["status"]) == ("/test/buyers/{buyer_id}", 200)
    assert secret_token not in repr(captured_logs.entries)
    assert "cursor=secret" not in repr(captured_logs.entries)
