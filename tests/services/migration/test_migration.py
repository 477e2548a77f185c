"""Moving one user's legacy balance into the ledger: once, exactly, under concurrency."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.config import Settings
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.domain.migration import InvalidLegacyBalance, LegacyWalletStatus, RejectionReason
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from tests.legacy_wallets import insert_legacy_wallet


@pytest.fixture
def migration(database: Database, ledger: Ledger, settings: Settings) -> LegacyMigration:
    return LegacyMigration(
        database,
        ledger,
        LegacyWalletBridge(database, settings),
        AuditLog(database),
        platform_currency="usd",
        recheck=timedelta(0),
    )


async def test_migrate_user_ten_times_concurrently_migrates_once(
    database: Database, ledger: Ledger, migration: LegacyMigration
) -> None:
    await insert_legacy_wallet(database, "u1", 12.2 + 0.1 + 0.2)  # 12.499999999999998

    results = await asyncio.gather(*(migration.migrate_user("u1", Actor.user("u1")) for _ in range(10)))

    assert {(r.status, r.amount, r.currency) for r in results} == {(LegacyWalletStatus.MIGRATED, 1250, "usd")}
    record = await migration.record("u1")
    assert record is not None
    assert (record.amount, record.normalized) == (1250, True)
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
    result = await migration.migrate_user("bad", Actor.user("bad"))
    with pytest.raises(InvalidLegacyBalance) as refused:
        await migration.migrate_now("bad", Actor.user("admin"))
    assert (result.status, result.reason) == (LegacyWalletStatus.INVALID, RejectionReason.SUB_CENT_PRECISION)
    assert refused.value.reason is RejectionReason.SUB_CENT_PRECISION
    legacy = await database["wallets"].find_one({"userId": "bad"})
    assert legacy is not None
    assert legacy["balance"] == 12.345
    assert "migrated" not in legacy
    assert await database[Collections.LEGACY_WALLETS].count_documents({}) == 0
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0


async def credit_legacy_wallet(database: Database, user_id: str, balance: object) -> None:
    """The legacy system, still running during the rollout, credits the zeroed document (a refund)."""
    await database["wallets"].update_one(
        {"userId": user_id}, {"$set": {"balance": balance, "updatedAt": datetime.now(UTC)}}
    )


async def test_money_credited_to_a_migrated_legacy_wallet_is_migrated_once_as_its_own_entry(
    database: Database, ledger: Ledger, migration: LegacyMigration
) -> None:
    await insert_legacy_wallet(database, "late", "10.00")
    await migration.migrate_user("late", Actor.user("late"))
    await credit_legacy_wallet(database, "late", 2.5 + 2.5)

    stranded = await migration.legacy_state("late")
    results = await asyncio.gather(*(migration.migrate_user("late", Actor.user("late")) for _ in range(10)))

    assert (stranded.status, stranded.unmigrated) == (LegacyWalletStatus.MIGRATED, 500)
    assert {(r.status, r.amount) for r in results} == {(LegacyWalletStatus.MIGRATED, 1500)}
    assert await ledger.balance(Accounts.buyer_legacy("late"), "usd") == 1500
    late_entry = await ledger.entry("migration:late:late:1")
    assert late_entry is not None
    assert [(m.source, m.destination, m.amount) for m in late_entry.moves] == [
        (Accounts.LEGACY_RESERVE, Accounts.buyer_legacy("late"), 500)
    ]
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "migration"}) == 2
    record = await migration.record("late")
    assert record is not None
    assert [(late.number, late.amount, late.entry_id) for late in record.late_migrations] == [
        (1, 500, "migration:late:late:1")
    ]
    legacy = await database["wallets"].find_one({"userId": "late"})
    assert legacy is not None
    assert (legacy["balance"], legacy["migratedMinorUnits"]) == (0, 1500)
    assert (await migration.legacy_state("late")).unmigrated == 0

    await credit_legacy_wallet(database, "late", "0.75")
    await migration.migrate_user("late", Actor.user("late"))
    await migration.migrate_user("late", Actor.user("late"))

    record = await migration.record("late")
    assert record is not None
    assert [(late.number, late.amount) for late in record.late_migrations] == [(1, 500), (2, 75)]
    assert await ledger.balance(Accounts.buyer_legacy("late"), "usd") == 1575
    assert await ledger.totals_by_currency() == {"usd": 0}


async def test_the_marketplace_users_are_read_where_the_settings_say_they_are(
    database: Database, ledger: Ledger, settings: Settings
) -> None:
    members = settings.model_copy(update={"users_collection": "members", "users_id_field": "member_id"})
    migration = LegacyMigration(
        database,
        ledger,
        LegacyWalletBridge(database, members),
        AuditLog(database),
        platform_currency="usd",
        recheck=timedelta(0),
    )
    for user_id in ("member-1", "default-only"):
        await insert_legacy_wallet(database, user_id, "5.00", known_user=False)
    await database["members"].insert_one({"member_id": "member-1"})
    await database["users"].insert_one({"_id": "default-only"})

    member = await migration.migrate_user("member-1", Actor.user("member-1"))
    stranger = await migration.migrate_user("default-only", Actor.user("default-only"))

    assert (member.status, member.amount) == (LegacyWalletStatus.MIGRATED, 500)
    assert (stranger.status, stranger.reason) == (LegacyWalletStatus.INVALID, RejectionReason.UNKNOWN_USER)
