"""`require_feature`, the gate the flows behind `checkout_v2` and `seller_payouts` take, on a
probe route standing in for them: both sides of each flag through the HTTP API."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from app.auth import Principal, Role
from app.domain.flags import Flag
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import require_feature, require_roles
from tests.conftest import TokenFactory, bearer

GATED = [(Flag.CHECKOUT_V2, Role.BUYER), (Flag.SELLER_PAYOUTS, Role.SELLER)]


def probe_router() -> APIRouter:
    """One route per gated flag, declared the way the real flows will be."""
    probe = APIRouter(prefix="/feature-probe", route_class=ContractRoute)
    for flag, role in GATED:

        @probe.post(f"/{flag.value}")
        @raises()
        async def gated(
            principal: Annotated[Principal, Depends(require_roles(role))],
            _: Annotated[None, Depends(require_feature(flag))],
        ) -> dict[str, str]:
            return {"served": principal.user_id}

    return probe


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    app.include_router(probe_router())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        yield client


async def set_flag(client: httpx.AsyncClient, token: TokenFactory, flag: Flag, **rule: Any) -> None:
    body = {"enabled": True, "rollout_percent": 0, **rule}
    response = await client.put(f"/admin/flags/{flag}", json=body, headers=bearer(token("admin", Role.ADMIN)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("flag", "role"), GATED)
async def test_a_gated_flow_serves_users_with_the_flag_and_refuses_the_others(
    client: httpx.AsyncClient, token: TokenFactory, flag: Flag, role: Role
) -> None:
    await set_flag(client, token, flag, rollout_percent=0, allow_users=["in-1"])

    served = await client.post(f"/feature-probe/{flag}", headers=bearer(token("in-1", role)))
    refused = await client.post(f"/feature-probe/{flag}", headers=bearer(token("out-1", role)))

    assert (served.status_code, served.json()) == (200, {"served": "in-1"})
    assert refused.status_code == 403
    assert {key: refused.json()[key] for key in ("code", "feature")} == {
        "code": "feature_disabled",
        "feature": flag.value,
    }


@pytest.mark.parametrize(("flag", "role"), GATED)
async def test_the_kill_switch_closes_a_gated_flow_to_everyone_at_once(
    client: httpx.AsyncClient, token: TokenFactory, flag: Flag, role: Role
) -> None:
    await set_flag(client, token, flag, rollout_percent=100)
    before = await client.post(f"/feature-probe/{flag}", headers=bearer(token("u-1", role)))

    await set_flag(client, token, flag, enabled=False, rollout_percent=100, allow_users=["u-1"])
    after = await client.post(f"/feature-probe/{flag}", headers=bearer(token("u-1", role)))

    assert (before.status_code, after.status_code) == (200, 403)


async def test_the_role_is_checked_before_the_flag(client: httpx.AsyncClient, token: TokenFactory) -> None:
    await set_flag(client, token, Flag.CHECKOUT_V2, rollout_percent=100)

    seller = await client.post("/feature-probe/checkout_v2", headers=bearer(token("s-1", Role.SELLER)))
    anonymous = await client.post("/feature-probe/checkout_v2")

    assert (seller.status_code, seller.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")


def test_a_gated_route_documents_feature_disabled_by_itself(app: FastAPI) -> None:
    app.include_router(probe_router())
    app.openapi_schema = None

    responses = app.openapi()["paths"]["/feature-probe/checkout_v2"]["post"]["responses"]

    codes = responses["403"]["content"]["application/problem+json"]["schema"]["properties"]["code"]["enum"]
    assert set(codes) == {"forbidden", "feature_disabled"}
