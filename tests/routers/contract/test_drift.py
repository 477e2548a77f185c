"""The drift check itself: a route that answers a code it did not declare is reported."""

import httpx
import pytest
from fastapi import APIRouter

from app.config import Settings
from app.errors import NotFound
from app.main import create_app
from app.routers.contract import ContractRoute, raises
from app.services.idempotency import IdempotencyKeyReused
from tests.problem_contract import answered_problems, undocumented_problems


async def test_a_code_the_route_did_not_declare_is_reported(settings: Settings) -> None:
    app = create_app(settings)
    probe = APIRouter(route_class=ContractRoute)

    @probe.get("/contract-probe/{kind}")
    @raises(NotFound)
    async def contract_probe(kind: str) -> dict[str, str]:
        if kind == "declared":
            raise NotFound("nothing here")
        raise IdempotencyKeyReused("a code this route never declared")

    app.include_router(probe)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        declared = await client.get("/contract-probe/declared")
        undeclared = await client.get("/contract-probe/undeclared")

    assert (declared.status_code, undeclared.status_code) == (404, 409)
    assert undocumented_problems(answered_problems(), app.openapi()) == [
        "GET /contract-probe/{kind}: 409 idempotency_key_reused"
    ]


def test_a_route_must_declare_what_it_raises() -> None:
    router = APIRouter(route_class=ContractRoute)

    async def undeclared() -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="declares no errors"):
        router.get("/undeclared")(undeclared)
