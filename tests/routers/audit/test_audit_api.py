"""GET /admin/audit: who may read it, its filters and its pages."""

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.container import Services
from app.domain.audit import Actor
from tests.conftest import TokenFactory, bearer
from tests.services.audit.support import TEST_ACTION, record_change


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def support(token: TokenFactory) -> dict[str, str]:
    return bearer(token("support-1", Role.SUPPORT))


async def test_the_audit_log_needs_a_token_and_the_admin_or_support_role(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    assert (await client.get("/admin/audit")).status_code == 401
    assert (await client.get("/admin/audit", headers=bearer("not-a-token"))).status_code == 401
    for role in (Role.BUYER, Role.SELLER):
        refused = await client.get("/admin/audit", headers=bearer(token("u1", role)))
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    for role in (Role.ADMIN, Role.SUPPORT):
        assert (await client.get("/admin/audit", headers=bearer(token("staff", role)))).status_code == 200


async def test_chained_records_are_listed_newest_first(
    client: httpx.AsyncClient, services: Services, support: dict[str, str]
) -> None:
    first = await record_change(services.database, services.audit_log, "o1")
    second = await record_change(services.database, services.audit_log, "o2")
    assert (await client.get("/admin/audit", headers=support)).json()["data"] == []  # not sealed yet
    await services.audit_sealer.seal_pending()

    body = (await client.get("/admin/audit", headers=support)).json()

    assert [r["id"] for r in body["data"]] == [second.id, first.id]
    newest, oldest = body["data"]
    assert (oldest["seq"], newest["seq"], newest["prev_hash"]) == (1, 2, oldest["hash"])
    assert len(oldest["hash"]) == 64
    assert oldest["actor"] == {"kind": "job", "id": "test_job"}
    assert oldest["object"] == {"type": "test_object", "id": "o1"}
    assert oldest["action"] == TEST_ACTION
    assert oldest["before"] == {"step": 0, "amount": 0, "tags": ["a", "b"], "note": "café"}
    assert body["has_more"] is False


async def test_each_filter_narrows_the_list(
    client: httpx.AsyncClient, services: Services, support: dict[str, str]
) -> None:
    database, audit = services.database, services.audit_log
    by_alice = await record_change(database, audit, "o1", actor=Actor.user("alice"))
    by_bob = await record_change(database, audit, "o2", actor=Actor.user("bob"))
    also_o1 = await record_change(database, audit, "o1", actor=Actor.user("bob"))
    await services.audit_sealer.seal_pending()

    async def ids(**params: str) -> list[str]:
        response = await client.get("/admin/audit", params=params, headers=support)
        assert response.status_code == 200, response.text
        return [record["id"] for record in response.json()["data"]]

    assert await ids(actor="alice") == [by_alice.id]
    assert await ids(actor="bob") == [also_o1.id, by_bob.id]
    assert await ids(object_type="test_object", object_id="o1") == [also_o1.id, by_alice.id]
    assert await ids(object_id="o2") == [by_bob.id]
    assert await ids(action=TEST_ACTION, actor="bob", object_id="o1") == [also_o1.id]
    assert await ids(object_type="topup") == []
    assert await ids(action="topup.status_changed") == []


async def test_pages_follow_each_other_without_gaps_or_repeats(
    client: httpx.AsyncClient, services: Services, support: dict[str, str]
) -> None:
    recorded = [await record_change(services.database, services.audit_log, f"o{i}") for i in range(5)]
    await services.audit_sealer.seal_pending()

    seen: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        page = (await client.get("/admin/audit", params={"limit": "2", **cursor}, headers=support)).json()
        seen += [record["id"] for record in page["data"]]
        if not page["has_more"]:
            break
        cursor = {"starting_after": page["data"][-1]["id"]}

    assert seen == [record.id for record in reversed(recorded)]


async def test_a_bad_cursor_or_limit_is_refused(client: httpx.AsyncClient, support: dict[str, str]) -> None:
    unknown = await client.get("/admin/audit", params={"starting_after": "aud_missing"}, headers=support)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_cursor"
    for limit in ("0", "101", "ten"):
        assert (await client.get("/admin/audit", params={"limit": limit}, headers=support)).status_code == 422
