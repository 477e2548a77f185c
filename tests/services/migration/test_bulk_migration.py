"""The bulk migration of every legacy wallet: a dry run reports exactly the bad wallets, a run
migrates the rest, the totals reconcile to the cent, a re-run migrates nothing, a run killed
mid-way and resumed ends as an uninterrupted one, and users migrated one by one are counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.config import Settings
from app.container import Services, running_services
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind
from app.domain.migration import LegacyWalletStatus, user_id_forms
from app.domain.money import Money
from app.services.audit import AuditLog
from app.services.migration import MigrationRuns, Rejection, RunOptions, RunStatus
from app.services.wallet import WalletEntry
from tests.conftest import make_settings
from tests.money_invariants import assert_money_invariants
from tests.services.migration.bulk_support import (
    LEGACY,
    DataSet,
    books,
    data_set,
    legacy_documents,
    write_data_set,
)

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
    return data_set()


async def collection_counts(database: Database) -> dict[str, int]:
    return {
        name: await database[name].count_documents({}) for name in await database.db.list_collection_names()
    }


async def test_a_dry_run_reports_exactly_the_bad_wallets_and_writes_nothing(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    before, legacy_before = (
        await collection_counts(services.database),
        await legacy_documents(services.database),
    )
    rejected: list[Rejection] = []

    report = await services.migration_runs.start(
        RunOptions(batch_size=16, dry_run=True), JOB, on_rejection=rejected.append
    )

    assert report.run_id is None
    assert Counter(rejection.reason.value for rejection in rejected) == data.expected_rejections()
    expected_users = {(w.user_id, w.reason) for w in data.bad if w.user_id is not None}
    assert {(r.user_id, r.reason) for r in rejected if r.user_id is not None} == expected_users
    assert report.tally.counts["migrated"] == len(data.good)
    assert report.tally.posted["usd"] == data.migrated_minor_units()
    assert all(currency.holds for currency in report.reconciliation)
    assert await collection_counts(services.database) == before
    assert await legacy_documents(services.database) == legacy_before


async def test_a_run_migrates_the_good_wallets_and_reconciles_to_the_cent(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)

    report = await services.migration_runs.start(RunOptions(batch_size=16), JOB)

    assert report.run_id is not None
    assert report.ok, [check for check in report.integrity if not check.ok]
    assert [check.name for check in report.integrity] == [
        "totals_reconcile",
        "per_user_amounts",
        "ledger_conservation",
        "legacy_checksum",
    ]
    counts = report.tally.counts
    assert (counts["migrated"], counts["rejected"]) == (
        len(data.good),
        sum(data.expected_rejections().values()),
    )
    for wallet in data.good:
        assert wallet.user_id is not None
        balance = await services.ledger.balance(Accounts.buyer_legacy(wallet.user_id), "usd")
        assert balance == wallet.minor_units, wallet
    for wallet in data.bad:
        if wallet.user_id is not None:
            assert await services.migration.record(wallet.user_id) is None
    untouched = await services.database[LEGACY].count_documents({"migrated": {"$exists": False}})
    assert untouched == sum(len(wallet.documents) for wallet in data.bad)
    run = await services.migration_runs.get(report.run_id)
    assert (run.status, run.integrity_ok, run.batches) == (
        RunStatus.COMPLETED,
        True,
        -(-len(data.wallets) // 16),
    )
    await assert_money_invariants(services.database, services.provider)


async def test_a_second_run_migrates_nothing_and_counts_everyone_migrated(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    first = await services.migration_runs.start(RunOptions(batch_size=50), JOB)
    after_first = await books(services.database)

    second = await services.migration_runs.start(RunOptions(batch_size=50), JOB)

    assert second.ok
    assert second.tally.counts["migrated"] == 0
    assert second.tally.counts["already_migrated"] == first.tally.counts["migrated"]
    assert second.tally.counts["rejected"] == first.tally.counts["rejected"]
    changed = {key for key, value in (await books(services.database)).items() if value != after_first[key]}
    assert changed == {"rejections"}  # the second run lists its own rejections, nothing else moves


async def test_users_migrated_one_by_one_are_counted_and_their_late_credits_migrated(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    early, late = data.good[0].user_id, data.good[1].user_id
    assert early is not None
    assert late is not None
    for user_id in (early, late):
        await services.migration.migrate_user(user_id, Actor.user(user_id))
    credited = {"userId": {"$in": user_id_forms(late)}}
    await services.database[LEGACY].update_one(credited, {"$set": {"balance": "2.50"}})

    report = await services.migration_runs.start(RunOptions(batch_size=16), JOB)

    assert report.ok, report.integrity
    counts = report.tally.counts
    assert (counts["migrated"], counts["already_migrated"], counts["late_migrated"]) == (
        len(data.good) - 2,
        1,
        1,
    )
    late_balance = await services.ledger.balance(Accounts.buyer_legacy(late), "usd")
    assert late_balance == data.good[1].minor_units + 250
    record = await services.migration.record(late)
    assert record is not None
    assert [(item.number, item.amount, item.run_id) for item in record.late_migrations] == [
        (1, 250, report.run_id)
    ]
    assert (await services.migration.record(early)) is not None
    await assert_money_invariants(services.database, services.provider)


class Crash(Exception):
    """The process dies here."""


class CrashingAudit(AuditLog):
    """The audit log of a process that dies while writing its `crash_at`-th batch, before commit."""

    def __init__(self, database: Database, crash_at: int) -> None:
        super().__init__(database)
        self._batches = 0
        self._crash_at = crash_at

    async def record_many(self, session, actor, changes, **kwargs):  # type: ignore[no-untyped-def]
        if actor == JOB and any(change.action == "legacy_wallet.migrated" for change in changes):
            self._batches += 1
            if self._batches == self._crash_at:
                raise Crash("killed in the middle of a batch")
        return await super().record_many(session, actor, changes, **kwargs)


@pytest.fixture
async def other_services(mongodb_uri: str, emulator_settings: Settings) -> AsyncIterator[Services]:
    """A second deployment, on a database of its own, for the uninterrupted run to compare with."""
    settings = make_settings(mongodb_uri, stripe_api_base=emulator_settings.stripe_api_base)
    async with running_services(settings) as services:
        try:
            yield services
        finally:
            await services.database.client.drop_database(settings.mongodb_database)


def _runs_with(services: Services, audit: AuditLog) -> MigrationRuns:
    return MigrationRuns(
        services.database,
        services.ledger,
        LegacyWalletBridge(services.database, services.settings),
        audit,
        platform_currency="usd",
        owner="the process that dies",
    )


@pytest.mark.parametrize("where", ["inside a batch", "between batches"])
async def test_a_run_killed_mid_way_and_resumed_ends_identical_to_an_uninterrupted_run(
    services: Services, other_services: Services, data: DataSet, where: str
) -> None:
    await write_data_set(services.database, data)
    await write_data_set(other_services.database, data)
    uninterrupted = await other_services.migration_runs.start(RunOptions(batch_size=16), JOB)

    def die_after_three_batches(done: int, total: int) -> None:
        if done >= 3 * 16:
            raise Crash("killed between two batches")

    if where == "inside a batch":
        dying = _runs_with(services, CrashingAudit(services.database, crash_at=4))
        with pytest.raises(Crash):
            await dying.start(RunOptions(batch_size=16), JOB)
    else:
        dying = _runs_with(services, services.audit_log)
        with pytest.raises(Crash):
            await dying.start(RunOptions(batch_size=16), JOB, progress=die_after_three_batches)
    [interrupted] = (await services.migration_runs.page(10, None)).data
    assert interrupted.status is RunStatus.INTERRUPTED
    assert interrupted.batches == 3

    resumed = await services.migration_runs.resume(interrupted.id, JOB)

    assert resumed.ok, resumed.integrity
    assert resumed.tally.as_document() == uninterrupted.tally.as_document()
    assert await books(services.database) == await books(other_services.database)
    audited = await services.database[Collections.AUDIT_PENDING].count_documents(
        {"action": "legacy_wallet.migrated"}
    )
    assert audited == len(data.good)
    await assert_money_invariants(services.database, services.provider)


async def test_every_migration_and_run_is_audited(services: Services, data: DataSet) -> None:
    await write_data_set(services.database, data)

    report = await services.migration_runs.start(RunOptions(batch_size=40), JOB)

    pending = services.database[Collections.AUDIT_PENDING]
    migrated = await pending.find({"action": "legacy_wallet.migrated"}).to_list()
    assert len(migrated) == len(data.good)
    assert {doc["after"]["run_id"] for doc in migrated} == {report.run_id}
    assert {doc["actor"]["id"] for doc in migrated} == {JOB.id}
    runs = [
        doc["action"] async for doc in pending.find({"object.type": "legacy_migration_run"}).sort("_id", 1)
    ]
    assert runs == ["legacy_migration.started", "legacy_migration.completed"]


async def test_a_dry_run_and_the_wallet_judge_each_wallet_alike(services: Services, data: DataSet) -> None:
    """The lazy path (one user) and the bulk run share one validation: same verdict, same reason."""
    await write_data_set(services.database, data)
    rejected: list[Rejection] = []
    await services.migration_runs.start(RunOptions(dry_run=True), JOB, on_rejection=rejected.append)
    bulk = {r.user_id: r.reason for r in rejected if r.user_id is not None}

    for wallet in data.wallets:
        if wallet.user_id is None:
            continue
        state = await services.migration.legacy_state(wallet.user_id)
        if wallet.reason is None:
            assert state.status is LegacyWalletStatus.NOT_MIGRATED, wallet
            assert state.unmigrated == wallet.minor_units
        else:
            assert (state.status, state.reason) == (LegacyWalletStatus.INVALID, bulk[wallet.user_id]), wallet
            assert state.reason is wallet.reason


async def test_rollback_restores_every_untouched_user_exactly_and_lists_the_others(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    legacy_before = await legacy_documents(services.database)
    report = await services.migration_runs.start(RunOptions(batch_size=16), JOB)
    assert report.run_id is not None
    spender, credited, late = _three_with_money(data)
    await services.wallet_funds.spend(
        spender,
        Money(150, "usd"),
        Accounts.escrow("o1", "s1"),
        WalletEntry(f"checkout:{spender}", EntryKind.CHECKOUT),
    )
    await services.database[LEGACY].update_one(
        {"userId": {"$in": user_id_forms(credited)}}, {"$set": {"balance": 1.25}}
    )
    await services.database[LEGACY].update_one(
        {"userId": {"$in": user_id_forms(late)}}, {"$set": {"balance": "0.40"}}
    )
    await services.migration.migrate_user(late, Actor.user(late))
    balances_before = {
        user: await services.ledger.balance(Accounts.buyer_legacy(user), "usd")
        for user in (spender, credited, late)
    }

    rollback = await services.rollbacks.rollback(report.run_id, JOB)

    left = {user.user_id: user.reason.value for user in rollback.left}
    assert left == {spender: "spent", credited: "changed", late: "changed"}
    assert rollback.rolled_back == len(data.good) - 3
    legacy_after = await legacy_documents(services.database)
    touched = {await _legacy_id(services.database, user) for user in left}
    assert {key: value for key, value in legacy_after.items() if key not in touched} == {
        key: value for key, value in legacy_before.items() if key not in touched
    }
    for wallet in data.good:
        assert wallet.user_id is not None
        balance = await services.ledger.balance(Accounts.buyer_legacy(wallet.user_id), "usd")
        assert balance == balances_before.get(wallet.user_id, 0), wallet
    await assert_money_invariants(services.database, services.provider)
    run = await services.migration_runs.get(report.run_id)
    assert run.status is RunStatus.ROLLED_BACK
    assert run.rollback is not None
    assert (run.rollback.rolled_back, run.rollback.left) == (rollback.rolled_back, 3)

    before_second = await books(services.database)
    again = await services.rollbacks.rollback(report.run_id, JOB)

    assert (again.rolled_back, {user.user_id for user in again.left}) == (0, set(left))
    assert await books(services.database) == before_second
    checks = {
        check.name: check.ok for check in (await services.migration_runs.verify(report.run_id)).integrity
    }
    # Everything holds but the checksum: the legacy system credited one wallet since the run.
    assert checks == {
        "totals_reconcile": True,
        "per_user_amounts": True,
        "ledger_conservation": True,
        "legacy_checksum": False,
    }
    pending = services.database[Collections.AUDIT_PENDING]
    assert (
        await pending.count_documents({"action": "legacy_wallet.migration_rolled_back"})
        == rollback.rolled_back
    )
    assert await pending.count_documents({"action": "legacy_migration.rolled_back"}) == 2


async def test_users_rolled_back_are_migrated_again_as_a_new_generation(
    services: Services, data: DataSet
) -> None:
    await write_data_set(services.database, data)
    first = await services.migration_runs.start(RunOptions(batch_size=32), JOB)
    assert first.run_id is not None
    await services.rollbacks.rollback(first.run_id, JOB)
    someone = next(wallet for wallet in data.good if wallet.minor_units)
    assert someone.user_id is not None

    lazily = await services.migration.migrate_user(someone.user_id, Actor.user(someone.user_id))
    second = await services.migration_runs.start(RunOptions(batch_size=32), JOB)

    assert (lazily.status, lazily.amount) == (LegacyWalletStatus.MIGRATED, someone.minor_units)
    assert second.ok, second.integrity
    assert (second.tally.counts["migrated"], second.tally.counts["already_migrated"]) == (
        len(data.good) - 1,
        1,
    )
    assert await services.ledger.entry(f"migration:{someone.user_id}:g1") is not None
    for wallet in data.good:
        assert wallet.user_id is not None
        assert (
            await services.ledger.balance(Accounts.buyer_legacy(wallet.user_id), "usd") == wallet.minor_units
        )
    await assert_money_invariants(services.database, services.provider)


def _three_with_money(data: DataSet) -> tuple[str, str, str]:
    users = [wallet.user_id for wallet in data.good if wallet.minor_units >= 200 and wallet.user_id]
    return users[0], users[1], users[2]


async def _legacy_id(database: Database, user_id: str) -> object:
    document = await database[LEGACY].find_one({"userId": {"$in": user_id_forms(user_id)}}, {"_id": True})
    assert document is not None
    return document["_id"]
