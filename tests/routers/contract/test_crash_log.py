"""A crash is answered with a 500 problem and logged once, as JSON carrying the request id; the
server does not log it a second time, as text."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
import uvicorn
from fastapi import APIRouter

from app.config import Settings
from app.main import create_app
from tests.mongo_server import free_port


async def test_a_crash_is_logged_once_as_json_with_the_request_id(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    crashing = APIRouter()

    @crashing.get("/crash")
    async def crash() -> None:
        raise RuntimeError("the database driver broke")

    app.include_router(crashing)
    port = free_port()
    # As `python -m app serve` runs it: the service logs requests itself, and configures logging.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server did not start"
        await asyncio.sleep(0.01)
    capsys.readouterr()
    try:
        with caplog.at_level(logging.DEBUG):
            async with httpx.AsyncClient() as client:
                response = await client.get(
                    f"http://127.0.0.1:{port}/crash", headers={"X-Request-Id": "crash-1"}
                )
    finally:
        server.should_exit = True
        await serving

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "broke" not in response.text
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    crashes = [json.loads(line) for line in printed if "unhandled_error" in line]
    assert len(crashes) == 1
    assert crashes[0]["request_id"] == "crash-1"
    assert "RuntimeError: the database driver broke" in crashes[0]["exception"]
    assert all(line.startswith("{") for line in printed), printed  # nothing but JSON lines
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
