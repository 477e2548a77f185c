"""The feature flags' admin API: each flag's rule, its change (audited), what a user gets; and who
may use it."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.container import Services
from app.domain.flags import MAX_LISTED_USERS, Flag, bucket
from tests.conftest import TokenFactory, bearer
from tests.services.audit.support import audit_documents


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def rule(**changes: Any) -> dict[str, Any]:
    return {"enabled": True, "rollout_percent": 0, "allow_users": [], "deny_users": [], **changes}


async def test_every_flag_is_listed_with_its_default_until_an_admin_sets_it(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    admin = bearer(token("admin-1", Role.ADMIN))

    before = (await client.get("/admin/flags", headers=admin)).json()["data"]
    put = await client.put(
        "/admin/flags/checkout_v2", json=rule(rollout_percent=10, allow_users=["staff-1"]), headers=admin
    )
    after = {flag["name"]: flag for flag in (await client.get("/admin/flags", headers=admin)).json()["data"]}

    assert [flag["name"] for flag in before] == [flag.value for flag in Flag]
    assert {(flag["source"], flag["updated_by"]) for flag in before} == {("default", None)}
    assert put.status_code == 200, put.text
    assert put.json() == after["checkout_v2"]
    assert (after["checkout_v2"]["rollout_percent"], after["checkout_v2"]["allow_users"]) == (10, ["staff-1"])
    assert (after["checkout_v2"]["source"], after["checkout_v2"]["updated_by"]) == ("stored", "admin-1")
    assert after["wallet_v2"]["source"] == "default"
    records = await audit_documents(services.database, action="feature_flag.updated")
    assert [(record["object"]["id"], record["actor"]["id"]) for record in records] == [
        ("checkout_v2", "admin-1")
    ]
    assert (records[0]["before"]["rollout_percent"], records[0]["after"]["rollout_percent"]) == (100, 10)


async def test_evaluate_says_what_a_user_gets_and_why(client: httpx.AsyncClient, token: TokenFactory) -> None:
    admin = bearer(token("admin-1", Role.ADMIN))
    support = bearer(token("support-1", Role.SUPPORT))
    await client.put(
        "/admin/flags/seller_payouts",
        json=rule(rollout_percent=100, allow_users=["s-allowed"], deny_users=["s-denied"]),
        headers=admin,
    )

    async def evaluated(user: str) -> dict[str, Any]:
        response = await client.get(f"/admin/flags/seller_payouts/evaluate?user_id={user}", headers=support)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    assert await evaluated("s-other") == {
        "flag": "seller_payouts",
        "user_id": "s-other",
        "enabled": True,
        "decision": "in_rollout",
        "bucket": bucket(Flag.SELLER_PAYOUTS, "s-other"),
    }
    assert ((await evaluated("s-denied"))["enabled"], (await evaluated("s-denied"))["decision"]) == (
        False,
        "denied",
    )
    await client.put(
        "/admin/flags/seller_payouts", json=rule(enabled=False, rollout_percent=100), headers=admin
    )
    assert (await evaluated("s-other"))["decision"] == "kill_switch"


@pytest.mark.parametrize(
    "body",
    [
        rule(rollout_percent=101),
        rule(rollout_percent=-1),
        rule(rollout_percent="10"),
        rule(rollout_percent=10.0),
        rule(enabled="true"),
        rule(colour="red"),
        {"rollout_percent": 10},
        rule(allow_users=[""]),
    ],
)
async def test_a_bad_rule_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, body: dict[str, Any]
) -> None:
    response = await client.put("/admin/flags/wallet_v2", json=body, headers=bearer(token("a", Role.ADMIN)))

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert (await services.feature_flags.states())[Flag.WALLET_V2].source == "default"


async def test_an_unknown_flag_is_refused(client: httpx.AsyncClient, token: TokenFactory) -> None:
    admin = bearer(token("admin-1", Role.ADMIN))

    put = await client.put("/admin/flags/dark_mode", json=rule(), headers=admin)
    evaluate = await client.get("/admin/flags/dark_mode/evaluate?user_id=u1", headers=admin)

    assert (put.status_code, evaluate.status_code) == (422, 422)


async def test_only_admins_change_flags_and_only_staff_read_them(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    support, buyer = bearer(token("support-1", Role.SUPPORT)), bearer(token("b1", Role.BUYER))

    answers = {
        "support put": await client.put("/admin/flags/wallet_v2", json=rule(), headers=support),
        "buyer put": await client.put("/admin/flags/wallet_v2", json=rule(), headers=buyer),
        "buyer list": await client.get("/admin/flags", headers=buyer),
        "buyer evaluate": await client.get("/admin/flags/wallet_v2/evaluate?user_id=b1", headers=buyer),
        "anonymous list": await client.get("/admin/flags"),
        "anonymous put": await client.put("/admin/flags/wallet_v2", json=rule()),
    }

    assert {name: (answer.status_code, answer.json()["code"]) for name, answer in answers.items()} == {
        "support put": (403, "forbidden"),
        "buyer put": (403, "forbidden"),
        "buyer list": (403, "forbidden"),
        "buyer evaluate": (403, "forbidden"),
        "anonymous list": (401, "unauthenticated"),
        "anonymous put": (401, "unauthenticated"),
    }
    assert (await services.feature_flags.states())[Flag.WALLET_V2].source == "default"
    assert await audit_documents(services.database, action="feature_flag.updated") == []


async def test_the_longest_rule_the_schema_accepts_fits_a_request_and_one_more_user_is_refused(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    admin = bearer(token("admin-1", Role.ADMIN))

    def users(prefix: str, count: int) -> list[str]:
        return [f"{prefix}{n:04d}".ljust(255, "x") for n in range(count)]

    longest = rule(allow_users=users("a", MAX_LISTED_USERS), deny_users=users("d", MAX_LISTED_USERS))
    too_long = rule(allow_users=users("a", MAX_LISTED_USERS + 1))

    accepted = await client.put("/admin/flags/wallet_v2", json=longest, headers=admin)
    refused = await client.put("/admin/flags/wallet_v2", json=too_long, headers=admin)

    assert accepted.status_code == 200, accepted.text
    assert len(accepted.json()["deny_users"]) == MAX_LISTED_USERS
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
