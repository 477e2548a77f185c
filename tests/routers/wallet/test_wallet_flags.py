"""Both sides of `wallet_v2` and `legacy_migration`, set through the admin API and met through
the wallet API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.domain.ledger import Accounts
from tests.conftest import TokenFactory, bearer
from tests.legacy_wallets import insert_legacy_wallet
from tests.money_invariants import assert_money_invariants


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def set_flag(client: httpx.AsyncClient, token: TokenFactory, name: str, **rule: Any) -> None:
    body = {"enabled": True, "rollout_percent": 0, **rule}
    response = await client.put(f"/admin/flags/{name}", json=body, headers=bearer(token("admin", Role.ADMIN)))
    assert response.status_code == 200, response.text


async def topup(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> httpx.Response:
    return await client.post(
        "/wallet/topup_request",
        json={"amount": 1000, "currency": "usd"},
        headers={**headers, "Idempotency-Key": key},
    )


async def test_without_wallet_v2_a_buyer_sees_the_legacy_balance_alone_and_cannot_top_up(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await set_flag(client, token, "wallet_v2", rollout_percent=0)
    await set_flag(client, token, "legacy_migration", rollout_percent=100)
    await insert_legacy_wallet(services.database, "old-1", "42.10")
    buyer = bearer(token("old-1", Role.BUYER))

    wallet = await client.get("/wallet", headers=buyer)
    refused = await topup(client, buyer, "old-1-topup")

    assert wallet.status_code == 200, wallet.text
    assert wallet.json() == {
        "currency": "usd",
        "legacy_balance": 4210,
        "platform_balance": 0,
        "total_balance": 4210,
        "pending_topups": 0,
        "legacy_wallet_status": "not_migrated",
        "legacy_wallet_reason": None,
        "flow": "legacy",
    }
    assert refused.status_code == 403
    problem = refused.json()
    assert (problem["code"], problem["feature"]) == ("feature_disabled", "wallet_v2")
    assert "wallet_v2" in problem["detail"]
    # Nothing was migrated (legacy_migration is on, but it rides on the new wallet) or opened.
    legacy = await services.database["wallets"].find_one({"userId": "old-1"})
    assert legacy is not None
    assert legacy["balance"] == "42.10"
    assert await services.database["topups"].count_documents({}) == 0
    assert await services.ledger.balance(Accounts.buyer_legacy("old-1"), "usd") == 0


async def test_with_wallet_v2_a_buyer_gets_the_new_wallet_and_tops_up(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await set_flag(client, token, "wallet_v2", rollout_percent=0, allow_users=["new-1"])
    await insert_legacy_wallet(services.database, "new-1", "42.10")
    buyer = bearer(token("new-1", Role.BUYER))

    opened = await topup(client, buyer, "new-1-topup")
    wallet = (await client.get("/wallet", headers=buyer)).json()

    assert opened.status_code == 201, opened.text
    assert (wallet["flow"], wallet["legacy_balance"], wallet["pending_topups"]) == ("v2", 4210, 1000)
    assert wallet["legacy_wallet_status"] == "not_migrated"  # legacy_migration is off by default


async def test_with_legacy_migration_the_first_read_of_the_new_wallet_migrates_the_user(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await set_flag(client, token, "wallet_v2", rollout_percent=100)
    await set_flag(client, token, "legacy_migration", rollout_percent=0, allow_users=["mig-1"])
    for user in ("mig-1", "mig-2"):
        await insert_legacy_wallet(services.database, user, 12.5)

    migrated = (await client.get("/wallet", headers=bearer(token("mig-1", Role.BUYER)))).json()
    untouched = (await client.get("/wallet", headers=bearer(token("mig-2", Role.BUYER)))).json()

    assert (migrated["legacy_wallet_status"], migrated["legacy_balance"]) == ("migrated", 1250)
    assert (untouched["legacy_wallet_status"], untouched["legacy_balance"]) == ("not_migrated", 1250)
    assert await services.ledger.balance(Accounts.buyer_legacy("mig-1"), "usd") == 1250
    assert await services.ledger.balance(Accounts.buyer_legacy("mig-2"), "usd") == 0
    zeroed = await services.database["wallets"].find_one({"userId": "mig-1"})
    kept = await services.database["wallets"].find_one({"userId": "mig-2"})
    assert zeroed is not None
    assert kept is not None
    assert (zeroed["balance"], zeroed["migratedAmount"]) == (0, 12.5)
    assert kept["balance"] == 12.5
    await assert_money_invariants(services.database, services.provider)


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ({"balance": "12.345", "currency": "USD"}, "sub_cent_precision"),
        ({"balance": 10, "currency": "EUR"}, "unsupported_currency"),
        ({"balance": 10, "currency": "US$"}, "unknown_currency"),
        ({"balance": 10, "currency": None}, "missing_currency"),
        ({"balance": -3, "currency": "usd"}, "negative_amount"),
        ({"balance": "ten", "currency": "usd"}, "unparseable_amount"),
    ],
)
async def test_a_legacy_wallet_that_cannot_be_migrated_shows_invalid_and_why_and_never_fails_a_read(
    client: httpx.AsyncClient,
    services: Services,
    token: TokenFactory,
    stored: dict[str, Any],
    reason: str,
) -> None:
    await set_flag(client, token, "legacy_migration", rollout_percent=100)
    await insert_legacy_wallet(services.database, "odd-1", stored["balance"], stored["currency"])
    buyer = bearer(token("odd-1", Role.BUYER))

    response = await client.get("/wallet", headers=buyer)

    assert response.status_code == 200, response.text
    wallet = response.json()
    assert (wallet["legacy_wallet_status"], wallet["legacy_wallet_reason"]) == ("invalid", reason)
    assert (wallet["legacy_balance"], wallet["flow"]) == (0, "v2")
    legacy = await services.database["wallets"].find_one({"userId": "odd-1"})
    assert legacy is not None
    assert (legacy["balance"], "migratedAmount" in legacy) == (stored["balance"], False)
