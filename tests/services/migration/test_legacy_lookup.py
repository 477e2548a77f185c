"""The legacy wallets collection, which the legacy system owns: read by an index the service
creates (when allowed), at most once per wallet operation, and not at all for a top-up."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.auth import Role
from app.config import Settings
from app.container import Services
from app.db import Database, connect
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.domain.migration import LegacyWalletStatus
from app.services.migration import LegacyMigration
from tests.command_log import CommandLog
from tests.conftest import TokenFactory, bearer, make_settings, running_app
from tests.legacy_wallets import insert_legacy_wallet

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

LEGACY = "wallets"


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def user_id_indexes(database: Database) -> list[str]:
    indexes = await database[LEGACY].index_information()
    return [name for name, spec in indexes.items() if spec["key"] == [("userId", 1)]]


async def test_the_service_creates_its_index_on_the_legacy_wallets_unless_told_not_to(
    services: Services, mongodb_uri: str
) -> None:
    assert await user_id_indexes(services.database) == ["payments_service_userId"]

    without = make_settings(mongodb_uri, legacy_wallet_index=False)
    async for app in running_app(without):
        assert await user_id_indexes(app.state.services.database) == []


async def test_a_wallet_read_looks_the_legacy_wallet_up_once_by_its_index(
    client: httpx.AsyncClient,
    services: Services,
    token: TokenFactory,
    command_log: CommandLog,
) -> None:
    others = [{"userId": f"legacy-{index}", "balance": "1.00", "currency": "USD"} for index in range(300)]
    await services.database[LEGACY].insert_many(others)  # the legacy system's other wallets
    headers = bearer(token("no-legacy", Role.BUYER))

    with command_log.recording(services.settings.mongodb_database) as commands:
        assert (await client.get("/wallet", headers=headers)).status_code == 200
    with command_log.recording(services.settings.mongodb_database) as again:
        assert (await client.get("/wallet", headers=headers)).status_code == 200

    assert [c.name for c in commands if c.collection == LEGACY] == ["find"]
    assert [c for c in again if c.collection == LEGACY] == []  # the answer is known
    plan = await services.database[LEGACY].find({"userId": "no-legacy"}).explain()
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"])


async def test_a_topup_request_never_reads_the_legacy_wallets(
    client: httpx.AsyncClient,
    services: Services,
    token: TokenFactory,
    command_log: CommandLog,
    emulator: EmulatorServer,
) -> None:
    await insert_legacy_wallet(services.database, "topper", "3.00")
    headers = {**bearer(token("topper", Role.BUYER)), "Idempotency-Key": "topup-1"}

    with command_log.recording(services.settings.mongodb_database) as commands:
        response = await client.post(
            "/wallet/topup_request", json={"amount": 1000, "currency": "usd"}, headers=headers
        )

    assert response.status_code == 201, response.text
    assert [c for c in commands if c.collection == LEGACY] == []
    # Its one transaction is the top-up's opening, with its Stripe call's completion and its
    # audit record: no migration.
    opening = {"topups", "payment_operations+audit_pending", None}
    assert {c.collection for c in commands if c.in_transaction} == opening


async def test_checking_a_user_without_a_legacy_wallet_opens_no_transaction(
    services: Services, command_log: CommandLog
) -> None:
    with command_log.recording(services.settings.mongodb_database) as commands:
        await services.migration.migrate_user("nobody", Actor.user("nobody"))

    assert [(c.name, c.collection) for c in commands] == [("find", LEGACY)]


async def test_an_index_the_legacy_system_already_has_on_user_id_is_used_as_it_is(mongodb_uri: str) -> None:
    settings = make_settings(mongodb_uri)
    legacy = connect(settings.mongodb_uri, settings.mongodb_database)
    await legacy[LEGACY].create_index([("userId", 1)], name="userId_1")
    try:
        async for app in running_app(settings):
            assert await user_id_indexes(app.state.services.database) == ["userId_1"]
    finally:
        await legacy.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_known_answer_is_looked_up_again_once_it_is_older_than_the_recheck(
    services: Services, settings: Settings, command_log: CommandLog
) -> None:
    """A user first seen without a legacy wallet, who gets one later (or a migrated wallet the
    legacy system credits later): seen at the first wallet operation after the recheck."""
    clock = Clock()
    migration = LegacyMigration(
        services.database,
        services.ledger,
        LegacyWalletBridge(services.database, settings),
        services.audit_log,
        platform_currency="usd",
        recheck=timedelta(seconds=60),
        clock=clock,
    )
    assert (await migration.legacy_state("newcomer")).status is LegacyWalletStatus.NONE
    await insert_legacy_wallet(services.database, "newcomer", "8.00")

    with command_log.recording(settings.mongodb_database) as commands:
        still_known = await migration.migrate_user("newcomer", Actor.user("newcomer"))
    clock.now += 60
    found = await migration.legacy_state("newcomer")
    migrated = await migration.migrate_user("newcomer", Actor.user("newcomer"))

    assert (still_known.status, commands) == (LegacyWalletStatus.NONE, [])
    assert (found.status, found.unmigrated) == (LegacyWalletStatus.NOT_MIGRATED, 800)
    assert (migrated.status, migrated.amount) == (LegacyWalletStatus.MIGRATED, 800)
    assert await services.ledger.balance(Accounts.buyer_legacy("newcomer"), "usd") == 800
