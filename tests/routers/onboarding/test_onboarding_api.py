"""The onboarding API: who may ask for what (another seller's is 404, a buyer is refused, support
reads but creates no link), what each refusal says, and the admin console's list of sellers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from tests.conftest import TokenFactory, bearer, make_settings

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

LINK, STATUS, REFRESH = "onboarding-link", "stripe-status", "stripe-status/refresh"
METHODS = {LINK: "GET", STATUS: "GET", REFRESH: "POST"}


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(mongodb_uri, stripe_api_base=emulator.base_url, webhook_worker_enabled=False)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def add_seller(services: Services, seller_id: str, **profile: Any) -> str:
    document = {"email": f"{seller_id}@example.com", "country": "US", **profile}
    await services.database["users"].insert_one({"_id": seller_id, "roles": ["seller"], **document})
    return seller_id


async def call(
    client: httpx.AsyncClient, route: str, seller_id: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.request(METHODS[route], f"/seller/{seller_id}/{route}", headers=headers)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    return problem


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, {LINK, STATUS, REFRESH}),
        (Role.SUPPORT, {STATUS}),
        (Role.BUYER, set()),
    ],
)
async def test_staff_and_buyers_get_what_their_role_allows(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, role: Role, allowed: set[str]
) -> None:
    seller_id = await add_seller(services, "seller-a")
    headers = bearer(token(f"someone-{role}", role))
    for route in (LINK, STATUS, REFRESH):
        response = await call(client, route, seller_id, headers)
        if route in allowed:
            assert response.status_code == 200, (route, response.text)
        else:
            assert_problem(response, 403, "forbidden")


async def test_a_seller_reaches_their_own_onboarding_and_another_sellers_is_not_found(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    mine, theirs = await add_seller(services, "seller-me"), await add_seller(services, "seller-them")
    headers = bearer(token(mine, Role.SELLER))
    assert (await call(client, LINK, theirs, bearer(token(theirs, Role.SELLER)))).status_code == 200

    for route in (LINK, STATUS, REFRESH):
        assert (await call(client, route, mine, headers)).status_code == 200, route
        problem = assert_problem(await call(client, route, theirs, headers), 404, "not_found")
        assert theirs not in problem["detail"] or "no " in problem["detail"]
        unknown = assert_problem(await call(client, route, "seller-nobody", headers), 404, "not_found")
        assert unknown["detail"] == problem["detail"].replace(theirs, "seller-nobody")


async def test_every_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for route in (LINK, STATUS, REFRESH):
        assert_problem(await call(client, route, "seller-a", {}), 401, "unauthenticated")
    assert_problem(await client.get("/admin/sellers"), 401, "unauthenticated")


async def test_a_link_answers_its_url_expiry_and_account(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, emulator: EmulatorServer
) -> None:
    seller_id = await add_seller(services, "seller-link")
    headers = bearer(token(seller_id, Role.SELLER))

    first = (await call(client, LINK, seller_id, headers)).json()
    second = (await call(client, LINK, seller_id, headers)).json()

    assert set(first) == {"url", "expires_at", "account_id"}
    assert first["url"].startswith(f"{emulator.base_url}/_emulator/onboarding/")
    assert first["url"] != second["url"]
    assert first["account_id"] == second["account_id"]
    assert datetime.fromisoformat(first["expires_at"]) > datetime.fromisoformat(
        (await call(client, STATUS, seller_id, headers)).json()["updated_at"]
    )


async def test_a_seller_who_never_started_is_not_started_and_an_unknown_one_not_found(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    seller_id = await add_seller(services, "seller-new")
    admin = bearer(token("admin-1", Role.ADMIN))

    status = await call(client, STATUS, seller_id, bearer(token(seller_id, Role.SELLER)))

    assert status.status_code == 200
    assert status.json() == {
        "status": "not_started",
        "status_reason": None,
        "can_receive_transfers": False,
        "progress": 0,
        "next_step": "Set up payments: start onboarding with Stripe.",
        "account_id": None,
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "capabilities": {},
        "currently_due": [],
        "past_due": [],
        "eventually_due": [],
        "pending_verification": [],
        "disabled_reason": None,
        "current_deadline": None,
        "updated_at": None,
    }
    for route in (LINK, STATUS, REFRESH):
        assert_problem(await call(client, route, "seller-unknown", admin), 404, "not_found")


async def test_a_link_for_an_incomplete_profile_or_an_unserved_country_is_422_naming_why(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    incomplete = await add_seller(services, "seller-incomplete", email=None, country=None)
    far = await add_seller(services, "seller-far", country="JM")

    missing = assert_problem(
        await call(client, LINK, incomplete, bearer(token(incomplete, Role.SELLER))),
        422,
        "seller_profile_incomplete",
    )
    country = assert_problem(
        await call(client, LINK, far, bearer(token(far, Role.SELLER))), 422, "seller_country_unsupported"
    )

    assert missing["missing"] == ["email", "country"]
    assert country["country"] == "JM"


async def seller_with_account(
    client: httpx.AsyncClient,
    services: Services,
    token: TokenFactory,
    emulator: EmulatorServer,
    seller_id: str,
) -> str:
    await add_seller(services, seller_id)
    admin = bearer(token("admin-1", Role.ADMIN))
    account_id: str = (await call(client, LINK, seller_id, admin)).json()["account_id"]
    # Stripe's `created` is in seconds: the next account is a second newer.
    await emulator.control_async("clock/advance", seconds=1)
    return account_id


async def test_the_admin_list_filters_by_status_and_finds_a_seller_or_an_account_newest_first(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, emulator: EmulatorServer
) -> None:
    accounts = {
        seller_id: await seller_with_account(client, services, token, emulator, seller_id)
        for seller_id in ("shop-a", "shop-b", "shop-c", "maker-d")
    }
    admin = bearer(token("admin-1", Role.ADMIN))
    for seller_id in ("shop-b", "maker-d"):
        await emulator.control_async(f"accounts/{accounts[seller_id]}/verify")
        await call(client, REFRESH, seller_id, admin)
    await add_seller(services, "shop-none")  # no account: not listed
    support = bearer(token("support-1", Role.SUPPORT))

    everyone = (await client.get("/admin/sellers", headers=support)).json()
    active = (await client.get("/admin/sellers", params={"status": "active"}, headers=support)).json()
    by_seller = (await client.get("/admin/sellers", params={"q": "shop-a"}, headers=support)).json()
    by_account = (
        await client.get("/admin/sellers", params={"q": accounts["shop-c"]}, headers=support)
    ).json()
    not_active = (
        await client.get("/admin/sellers", params={"q": "shop-a", "status": "active"}, headers=support)
    ).json()
    nobody = (await client.get("/admin/sellers", params={"q": "shop-none"}, headers=support)).json()

    newest_first = ["maker-d", "shop-c", "shop-b", "shop-a"]
    assert [row["seller_id"] for row in everyone["data"]] == newest_first
    assert [row["seller_id"] for row in active["data"]] == ["maker-d", "shop-b"]
    assert [row["seller_id"] for row in by_seller["data"]] == ["shop-a"]
    assert [row["seller_id"] for row in by_account["data"]] == ["shop-c"]
    assert not_active["data"] == nobody["data"] == []
    onboarding = next(row for row in everyone["data"] if row["seller_id"] == "shop-a")
    assert onboarding["account_id"] == accounts["shop-a"]
    assert onboarding["status"] == "onboarding"
    assert onboarding["can_receive_transfers"] is False
    assert onboarding["requirement_counts"]["currently_due"] > 0
    assert onboarding["requirement_counts"]["past_due"] > 0
    assert onboarding["updated_at"] is not None
    verified = next(row for row in everyone["data"] if row["seller_id"] == "shop-b")
    assert verified["requirement_counts"] == {
        "currently_due": 0,
        "past_due": 0,
        "eventually_due": 0,
        "pending_verification": 0,
    }


async def test_the_admin_list_pages_with_a_cursor_and_refuses_an_unknown_one(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, emulator: EmulatorServer
) -> None:
    for index in range(5):
        await seller_with_account(client, services, token, emulator, f"seller-{index}")
    admin = bearer(token("admin-1", Role.ADMIN))

    pages: list[list[str]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"starting_after": after} if after else {})
        page = (await client.get("/admin/sellers", params=params, headers=admin)).json()
        pages.append([row["seller_id"] for row in page["data"]])
        if not page["has_more"]:
            break
        after = page["data"][-1]["account_id"]

    assert pages == [["seller-4", "seller-3"], ["seller-2", "seller-1"], ["seller-0"]]
    unknown = await client.get("/admin/sellers", params={"starting_after": "acct_nope"}, headers=admin)
    assert_problem(unknown, 404, "unknown_cursor")
    not_a_status = await client.get("/admin/sellers", params={"status": "not_started"}, headers=admin)
    assert_problem(not_a_status, 422, "validation_error")
    for role in (Role.SELLER, Role.BUYER):
        assert_problem(await client.get("/admin/sellers", headers=bearer(token("x", role))), 403, "forbidden")
