"""The rehearsal's commands as an operator runs them: the fixture generator, then the migration in
each mode (dry run, run, verify, rollback) with its options, its report and its exit status."""

import asyncio
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.config import Settings
from app.db import Collections, Database
from app.domain.ledger import Accounts
from app.domain.migration import user_id_forms
from app.services.ledger import Ledger
from migrations import make_legacy_fixture, migrate_legacy_wallets
from migrations.legacy_fixture import legacy_wallets
from migrations.migrate_legacy_wallets import ProgressBar
from tests.legacy_wallets import USERS
from tests.services.migration.bulk_support import legacy_documents
from tests.test_cli import environment

WALLETS = 48
BAD_SHARE = 0.25


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


async def invoke(settings: Settings, command: Any, *args: str) -> Result:
    """Run a command as its own process would: it runs its own event loop, so in a thread."""
    return await asyncio.to_thread(
        CliRunner().invoke, command.cli, list(args), env=environment(settings), catch_exceptions=False
    )


async def write_fixture(settings: Settings, tmp_path: Path) -> list[dict[str, Any]]:
    manifest = tmp_path / "manifest.jsonl"
    written = await invoke(
        settings,
        make_legacy_fixture,
        *(
            "--wallets",
            str(WALLETS),
            "--bad-share",
            str(BAD_SHARE),
            "--seed",
            "3",
            "--manifest",
            str(manifest),
        ),
    )
    assert written.exit_code == 0, written.output
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def report_of(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


async def test_the_fixture_generator_writes_the_wallets_and_says_what_each_must_become(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    manifest = await write_fixture(settings, tmp_path)

    generated = list(legacy_wallets(WALLETS, bad_share=BAD_SHARE, seed=3))
    assert len(manifest) == WALLETS
    assert [line["reason"] for line in manifest] == [
        wallet.reason.value if wallet.reason else None for wallet in generated
    ]
    assert await database["wallets"].count_documents({}) == sum(line["documents"] for line in manifest)
    known = {user["_id"] async for user in database[USERS].find()}
    assert {line["user_id"] for line in manifest if line["reason"] is None} <= known
    assert {line["reason"] for line in manifest if line["reason"]} >= {
        "sub_cent_precision",
        "duplicate_wallet",
    }


async def test_dry_run_run_verify_and_rollback_from_the_command_line(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    manifest = await write_fixture(settings, tmp_path)
    legacy_before = await legacy_documents(database)
    expected_rejections = Counter(
        line["reason"] for line in manifest if line["reason"] for _ in range(line["documents"])
    )
    good = [line for line in manifest if line["reason"] is None]

    dry = await invoke(settings, migrate_legacy_wallets, "--dry-run", "--report", str(tmp_path / "dry.json"))

    assert dry.exit_code == 0, dry.output
    assert "dry run (nothing written)" in dry.output
    dry_report = report_of(tmp_path / "dry.json")
    assert Counter(item["reason"] for item in dry_report["rejected"]) == expected_rejections
    assert dry_report["summary"]["tally"]["counts"]["migrated"] == len(good)
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0
    assert await legacy_documents(database) == legacy_before
    assert not (tmp_path / "dry.json.rejected.jsonl").exists()

    run = await invoke(
        settings, migrate_legacy_wallets, "--batch-size", "7", "--report", str(tmp_path / "run.json")
    )

    assert run.exit_code == 0, run.output
    run_report = report_of(tmp_path / "run.json")
    run_id = run_report["summary"]["run_id"]
    assert run_id.startswith("mig_")
    assert f"run {run_id}: completed" in run.output
    assert Counter(item["reason"] for item in run_report["rejected"]) == expected_rejections
    assert all(check["ok"] for check in run_report["summary"]["integrity"])
    ledger = Ledger(database)
    for line in good:
        assert await ledger.balance(Accounts.buyer_legacy(line["user_id"]), "usd") == line["minor_units"]

    verified = await invoke(settings, migrate_legacy_wallets, "--verify", run_id)
    assert verified.exit_code == 0, verified.output
    assert "check legacy_checksum: ok" in verified.output

    rolled_back = await invoke(
        settings, migrate_legacy_wallets, "--rollback", run_id, "--report", str(tmp_path / "rollback.json")
    )
    assert rolled_back.exit_code == 0, rolled_back.output
    assert f"Rollback of {run_id}: {len(good):,} users rolled back, 0 left" in rolled_back.output
    assert report_of(tmp_path / "rollback.json")["summary"]["rolled_back"] == len(good)
    assert await legacy_documents(database) == legacy_before
    for line in good:
        assert await ledger.balance(Accounts.buyer_legacy(line["user_id"]), "usd") == 0

    again = await invoke(settings, migrate_legacy_wallets, "--rollback", run_id)
    assert "0 users rolled back, 0 left" in again.output


async def test_only_users_limits_a_run_to_the_listed_users(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    manifest = await write_fixture(settings, tmp_path)
    good = [line for line in manifest if line["reason"] is None]
    chosen, others = good[:3], good[3:]
    users_file = tmp_path / "users.txt"
    users_file.write_text("# the pilot\n" + "\n".join(line["user_id"] for line in chosen) + "\n\n")

    run = await invoke(
        settings,
        migrate_legacy_wallets,
        "--only-users",
        str(users_file),
        "--report",
        str(tmp_path / "r.json"),
    )

    assert run.exit_code == 0, run.output
    assert report_of(tmp_path / "r.json")["summary"]["tally"]["counts"]["migrated"] == 3
    ledger = Ledger(database)
    for line in chosen:
        assert await ledger.balance(Accounts.buyer_legacy(line["user_id"]), "usd") == line["minor_units"]
    for line in others:
        assert await ledger.balance(Accounts.buyer_legacy(line["user_id"]), "usd") == 0


async def test_verify_fails_with_status_1_when_the_legacy_data_changed_since_the_run(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    manifest = await write_fixture(settings, tmp_path)
    run = await invoke(settings, migrate_legacy_wallets, "--report", str(tmp_path / "run.json"))
    run_id = report_of(tmp_path / "run.json")["summary"]["run_id"]
    credited = next(line for line in manifest if line["reason"] is None)["user_id"]
    await database["wallets"].update_one(
        {"userId": {"$in": user_id_forms(credited)}}, {"$set": {"balance": 3.5}}
    )

    verified = await invoke(settings, migrate_legacy_wallets, "--verify", run_id)

    assert run.exit_code == 0, run.output
    assert verified.exit_code == 1, verified.output
    assert "check legacy_checksum: FAILED" in verified.output


async def test_bad_options_exit_with_status_2_and_write_nothing(
    settings: Settings, database: Database
) -> None:
    two_modes = await invoke(settings, migrate_legacy_wallets, "--dry-run", "--verify", "mig_x")
    unknown_run = await invoke(settings, migrate_legacy_wallets, "--verify", "mig_unknown")
    unknown_rollback = await invoke(settings, migrate_legacy_wallets, "--rollback", "mig_unknown")
    batch = await invoke(settings, migrate_legacy_wallets, "--batch-size", "0")

    assert [result.exit_code for result in (two_modes, unknown_run, unknown_rollback, batch)] == [2, 2, 2, 2]
    assert "choose one of --dry-run, --verify" in two_modes.output
    assert await database[Collections.LEGACY_MIGRATION_RUNS].count_documents({}) == 0


class Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_the_progress_bar_is_drawn_in_place_on_a_terminal_and_not_elsewhere() -> None:
    terminal, pipe = Terminal(tty=True), Terminal(tty=False)
    for stream in (terminal, pipe):
        bar = ProgressBar("wallets", stream)
        bar(500, 2_000)
        bar(2_000, 2_000)
        bar.close()

    drawn = terminal.getvalue()
    assert drawn.startswith("\r[#######.......................] 500/2,000 wallets")
    assert "\r[##############################] 2,000/2,000 wallets" in drawn
    assert drawn.endswith("\n")
    assert pipe.getvalue() == ""
