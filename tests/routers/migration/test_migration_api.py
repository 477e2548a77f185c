"""The legacy migration's admin API: runs with their counts, totals and rejected wallets; one user
migrated now by the lazy path's code; and who may use it."""

from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.services.migration import RunOptions
from tests.conftest import TokenFactory, bearer
from tests.legacy_wallets import insert_legacy_wallet
from tests.money_invariants import assert_money_invariants
from tests.services.audit.support import audit_documents
from tests.services.migration.bulk_support import DataSet, data_set, write_data_set

JOB = Actor.job("migrate_legacy_wallets")


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture(scope="module")
def data() -> DataSet:
    return data_set(users=60)


async def get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_runs_are_listed_newest_first_with_their_counts_totals_and_checks(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    first = await services.migration_runs.start(RunOptions(batch_size=20), JOB)
    second = await services.migration_runs.start(RunOptions(batch_size=20), JOB)
    support = bearer(token("support-1", Role.SUPPORT))

    page = await get(client, "/admin/migrations?limit=1", support)
    rest = await get(client, f"/admin/migrations?limit=1&starting_after={page['data'][0]['run_id']}", support)

    assert [run["run_id"] for run in page["data"] + rest["data"]] == [second.run_id, first.run_id]
    assert (page["has_more"], rest["has_more"]) == (True, False)
    run = rest["data"][0]
    rejected = sum(data.expected_rejections().values())
    assert (run["status"], run["actor"], run["integrity_ok"], run["batch_size"]) == (
        "completed",
        "migrate_legacy_wallets",
        True,
        20,
    )
    assert (run["counts"]["migrated"], run["counts"]["rejected"]) == (len(data.good), rejected)
    assert run["posted"] == {"usd": data.migrated_minor_units()}
    assert [check["name"] for check in run["integrity"] if check["ok"]] == [
        "totals_reconcile",
        "per_user_amounts",
        "ledger_conservation",
        "legacy_checksum",
    ]
    assert all(total["reconciles"] for total in run["totals"])
    assert run["snapshot"]["count"] == sum(len(wallet.documents) for wallet in data.wallets)
    assert page["data"][0]["counts"]["already_migrated"] == len(data.good)


async def test_a_run_shows_every_wallet_it_rejected_a_page_at_a_time(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    report = await services.migration_runs.start(RunOptions(batch_size=20), JOB)
    admin = bearer(token("admin-1", Role.ADMIN))

    rejected: list[dict[str, Any]] = []
    cursor = ""
    while True:
        detail = await get(client, f"/admin/migrations/{report.run_id}?limit=7{cursor}", admin)
        rejected += detail["rejected"]["data"]
        if not detail["rejected"]["has_more"]:
            break
        cursor = f"&starting_after={rejected[-1]['legacy_id']}"

    assert detail["run_id"] == report.run_id
    assert Counter(item["reason"] for item in rejected) == data.expected_rejections()
    assert len({item["legacy_id"] for item in rejected}) == len(rejected)
    assert {item["user_id"] for item in rejected if item["user_id"]} == {
        wallet.user_id for wallet in data.bad if wallet.user_id
    }
    assert all(item["balance"] and item["raw_user_id"] and item["detail"] for item in rejected)


async def test_an_unknown_run_or_cursor_is_not_found(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "someone", "1.00")
    report = await services.migration_runs.start(RunOptions(), JOB)
    admin = bearer(token("admin-1", Role.ADMIN))

    answers = [
        await client.get("/admin/migrations/mig_unknown", headers=admin),
        await client.get("/admin/migrations?starting_after=mig_unknown", headers=admin),
        await client.get(f"/admin/migrations/{report.run_id}?starting_after=nope", headers=admin),
    ]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (404, "not_found"),
        (404, "unknown_cursor"),
        (404, "unknown_cursor"),
    ]


async def test_an_admin_migrates_one_user_now_as_a_first_use_would_once(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "late-adopter", "42.10")
    headers = {**bearer(token("admin-1", Role.ADMIN)), "Idempotency-Key": "migrate-late-adopter"}

    first = await client.post("/admin/migrations/legacy-wallets/late-adopter", headers=headers)
    replay = await client.post("/admin/migrations/legacy-wallets/late-adopter", headers=headers, json={})
    again = await client.post(
        "/admin/migrations/legacy-wallets/late-adopter",
        headers={**headers, "Idempotency-Key": "migrate-late-adopter-2"},
    )

    assert first.status_code == 200, first.text
    expected = {"user_id": "late-adopter", "status": "migrated", "amount": 4210, "currency": "usd"}
    assert first.json() == replay.json() == again.json() == expected
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await services.ledger.balance(Accounts.buyer_legacy("late-adopter"), "usd") == 4210
    records = await audit_documents(services.database, action="legacy_wallet.migrated")
    assert [(record["object"]["id"], record["actor"]) for record in records] == [
        ("late-adopter", {"kind": "admin", "id": "admin-1"})
    ]
    await assert_money_invariants(services.database, services.provider)


async def test_a_wallet_that_cannot_be_migrated_is_refused_with_its_reason_and_nothing_changes(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "noisy", "12.345")
    headers = {**bearer(token("admin-1", Role.ADMIN)), "Idempotency-Key": "migrate-noisy"}

    refused = await client.post("/admin/migrations/legacy-wallets/noisy", headers=headers)
    nobody = await client.post(
        "/admin/migrations/legacy-wallets/nobody", headers={**headers, "Idempotency-Key": "migrate-nobody"}
    )

    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["reason"]) == (
        "invalid_legacy_balance",
        "sub_cent_precision",
    )
    assert nobody.json() == {"user_id": "nobody", "status": "none", "amount": 0, "currency": None}
    assert await services.database["journal_entries"].count_documents({}) == 0
    legacy = await services.database["wallets"].find_one({"userId": "noisy"})
    assert legacy is not None
    assert legacy["balance"] == "12.345"


async def test_only_admins_migrate_and_only_staff_read_runs(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "victim", "5.00")
    support, buyer = bearer(token("support-1", Role.SUPPORT)), bearer(token("victim", Role.BUYER))
    migrate = "/admin/migrations/legacy-wallets/victim"

    answers = {
        "support migrates": await client.post(migrate, headers={**support, "Idempotency-Key": "k1"}),
        "buyer migrates": await client.post(migrate, headers={**buyer, "Idempotency-Key": "k2"}),
        "buyer lists": await client.get("/admin/migrations", headers=buyer),
        "buyer reads": await client.get("/admin/migrations/mig_x", headers=buyer),
        "anonymous lists": await client.get("/admin/migrations"),
        "anonymous migrates": await client.post(migrate, headers={"Idempotency-Key": "k3"}),
    }
    without_key = await client.post(migrate, headers=bearer(token("admin-1", Role.ADMIN)))
    with_body = await client.post(
        migrate, headers={**bearer(token("admin-1", Role.ADMIN)), "Idempotency-Key": "k4"}, json={"amount": 1}
    )

    assert {name: (answer.status_code, answer.json()["code"]) for name, answer in answers.items()} == {
        "support migrates": (403, "forbidden"),
        "buyer migrates": (403, "forbidden"),
        "buyer lists": (403, "forbidden"),
        "buyer reads": (403, "forbidden"),
        "anonymous lists": (401, "unauthenticated"),
        "anonymous migrates": (401, "unauthenticated"),
    }
    assert (without_key.status_code, with_body.status_code) == (422, 422)
    assert await services.ledger.balance(Accounts.buyer_legacy("victim"), "usd") == 0
