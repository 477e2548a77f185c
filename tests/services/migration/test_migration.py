"""Moving one user's legacy balance into the ledger: once, exactly, under concurrency."""

import asyncio

import pytest

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.config import Settings
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.domain.migration import InvalidLegacyBalance, LegacyWalletStatus
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from tests.legacy_wallets import insert_legacy_wallet


@pytest.fixture
def migration(database: Database, ledger: Ledger, settings: Settings) -> LegacyMigration:
    return LegacyMigration(database, ledger, LegacyWalletBridge(database, settings), AuditLog(database))


async def test_migrate_user_ten_times_concurrently_migrates_once(
    database: Database, ledger: Ledger, migration: LegacyMigration
) -> None:
    await insert_legacy_wallet(database, "u1", 12.2 + 0.1 + 0.2)  # 12.499999999999998

    results = await asyncio.gather(*(migration.migrate_user("u1", Actor.user("u1")) for _ in range(10)))

    assert {(r.status, r.amount, r.currency, r.normalized) for r in results} == {
        (LegacyWalletStatus.MIGRATED, 1250, "usd", True)
    }
    assert await database[Collections.LEGACY_WALLETS].count_documents({"user_id": "u1"}) == 1
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "migration"}) == 1
    assert await ledger.balance(Accounts.buyer_legacy("u1"), "usd") == 1250
    legacy = await database["wallets"].find_one({"userId": "u1"})
    assert legacy is not None
    assert legacy["balance"] == 0
    assert legacy["migrated"] is True
    assert legacy["migratedAmount"] == 12.2 + 0.1 + 0.2
    assert legacy["migratedMinorUnits"] == 1250
    assert await ledger.totals_by_currency() == {"usd": 0}


async def test_a_user_without_a_legacy_wallet_has_nothing_to_migrate(
    database: Database, migration: LegacyMigration
) -> None:
    result = await migration.migrate_user("nobody", Actor.user("nobody"))
    assert result.status == LegacyWalletStatus.NONE
    assert await database[Collections.LEGACY_WALLETS].count_documents({}) == 0


async def test_a_zero_balance_is_recorded_without_an_entry(
    database: Database, ledger: Ledger, migration: LegacyMigration
) -> None:
    await insert_legacy_wallet(database, "u0", "0.00")
    result = await migration.migrate_user("u0", Actor.user("u0"))
    assert (result.status, result.amount) == (LegacyWalletStatus.MIGRATED, 0)
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0


async def test_an_invalid_legacy_balance_is_refused_and_nothing_changes(
    database: Database, migration: LegacyMigration
) -> None:
    await insert_legacy_wallet(database, "bad", 12.345)
    with pytest.raises(InvalidLegacyBalance):
        await migration.migrate_user("bad", Actor.user("bad"))
    legacy = await database["wallets"].find_one({"userId": "bad"})
    assert legacy is not None
    assert legacy["balance"] == 12.345
    assert "migrated" not in legacy
    assert await database[Collections.LEGACY_WALLETS].count_documents({}) == 0
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0
