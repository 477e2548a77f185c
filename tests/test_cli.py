from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.db import Collections, Database
from app.services.audit import AuditLog
from app.services.onboarding.repository import StripeAccountRepository
from tests.conftest import CONNECT_WEBHOOK_SECRET, PLATFORM_WEBHOOK_SECRET, STRIPE_TEST_KEY, TEST_JWT_SECRET
from tests.services.audit.support import record_change
from tests.services.webhooks.support import deliver, inbox_for
from tests.stripe_events import account_updated, connected_account

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


def environment(settings: Settings) -> dict[str, str]:
    return {
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "STRIPE_SECRET_KEY": STRIPE_TEST_KEY,
        "STRIPE_API_BASE": settings.stripe_api_base or "",
        "STRIPE_WEBHOOK_SECRET": PLATFORM_WEBHOOK_SECRET,
        "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
        "JWT_SECRET": TEST_JWT_SECRET,
    }


async def test_process_webhooks_once_drains_the_due_events_and_exits(
    database: Database, settings: Settings, emulator: EmulatorServer
) -> None:
    created = await emulator.stripe_client().v1.accounts.create_async({"type": "express", "country": "US"})
    account = connected_account(created.id)
    await deliver(inbox_for(database, settings), account_updated(account))

    # The command runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["process-webhooks", "--once"], env=environment(settings)
    )

    assert result.exit_code == 0, result.output
    assert "1 webhook events handled: processed=1" in result.output
    assert await StripeAccountRepository(database).get(account["id"]) is not None


async def test_audit_seal_then_verify_and_verify_names_the_first_broken_record(
    database: Database, settings: Settings
) -> None:
    audit = AuditLog(database)
    records = [await record_change(database, audit, f"o{index}") for index in range(3)]
    runner, env = CliRunner(), environment(settings)

    def run(*args: str) -> Result:
        return runner.invoke(cli, ["audit", *args], env=env)

    waiting = await asyncio.to_thread(run, "verify")
    assert waiting.exit_code == 0, waiting.output
    assert "audit chain intact: 0 records verified" in waiting.output
    assert "3 records not sealed yet" in waiting.output

    sealed = await asyncio.to_thread(run, "seal")
    assert sealed.exit_code == 0, sealed.output
    assert "3 audit records sealed" in sealed.output
    intact = await asyncio.to_thread(run, "verify")
    assert intact.exit_code == 0, intact.output
    assert "audit chain intact: 3 records verified" in intact.output
    assert "not sealed" not in intact.output

    await database[Collections.AUDIT_LOG].update_one({"_id": records[1].id}, {"$inc": {"after.amount": 1}})
    broken = await asyncio.to_thread(run, "verify")
    assert broken.exit_code == 1
    assert (
        f"audit chain broken at record 2 ({records[1].id}): the record does not match its hash"
        in broken.output
    )
    assert "1 records before it verified" in broken.output


async def test_reconcile_runs_over_the_window_and_reports_what_it_found(
    database: Database, settings: Settings, emulator: EmulatorServer
) -> None:
    await emulator.control_async("seed/payment_intents", count=3, metadata={"purpose": "wallet_topup"})
    today = datetime.now(UTC).date()
    window = ["--from", f"{today}", "--to", f"{today + timedelta(days=1)}"]

    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["reconcile", *window], env=environment(settings)
    )
    backwards = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["reconcile", "--from", window[3], "--to", window[1]],
        env=environment(settings),
    )

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "topups: 3 Stripe objects, 0 of our records, 0 matched, 3 differences" in result.output
    # Paid at Stripe with nothing in the books: three top-ups and three fees, explained, no drift.
    assert "6 new discrepancies, 0 already recorded, 0 drifts superseded" in result.output
    assert await database[Collections.DISCREPANCIES].count_documents({"kind": "topup_entry_missing"}) == 3
    assert backwards.exit_code == 2
    assert "ends after it starts" in backwards.output
