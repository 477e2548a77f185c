"""What every router needs: the database, services, and the Idempotency-Key plumbing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.auth import Principal
from app.config import Settings
from app.db import Database
from app.problems import PROBLEM_JSON
from app.services.container import Services
from app.services.idempotency import request_fingerprint


def get_database(request: Request) -> Database:
    services: Services = request.app.state.services
    return services.database


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per operation; repeating it with the same body replays the first answer.",
    ),
]


async def respond_idempotently(
    request: Request,
    principal: Principal,
    key: str,
    body: BaseModel | None,
    operation: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run a money-moving operation at most once per (user, Idempotency-Key)."""
    services: Services = request.app.state.services
    store = services.idempotency
    fingerprint = request_fingerprint(
        request.method, request.url.path, body.model_dump(mode="json") if body else None
    )
    stored = await store.run(principal.user_id, key, fingerprint, operation)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    media_type = PROBLEM_JSON if stored.status >= 400 else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers, media_type=media_type)
