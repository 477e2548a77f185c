"""Top-ups left unpaid expire: their PaymentIntent is canceled at Stripe (the emulator) through a
payment operation, the top-up becomes `canceled`, and the buyer's pending amount drops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from app.adapters.stripe_errors import PaymentOutcomeUnknown
from app.cli import cli
from app.config import Settings
from app.container import Services, in_service_jobs
from app.db import Collections
from app.domain.money import Money
from app.services.jobs import Lease
from app.services.wallet import Topup, run_topup_expiry
from app.services.wallet.topup_expiry import TOPUP_EXPIRY_JOB
from tests.conftest import make_settings
from tests.test_cli import environment

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

DAY = timedelta(hours=24)


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        stripe_max_network_retries=0,
        stripe_retry_attempts=1,
    )


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def opened_hours_ago(services: Services, user_id: str, key: str, hours: float) -> Topup:
    topup = await services.topups.request(user_id, Money(1500, "usd"), key)
    opened_at = datetime.now(UTC) - timedelta(hours=hours)
    await services.database[Collections.TOPUPS].update_one(
        {"_id": topup.id}, {"$set": {"created_at": opened_at}}
    )
    return topup


async def audit_records(services: Services, query: dict[str, str]) -> int:
    collections = (Collections.AUDIT_PENDING, Collections.AUDIT_LOG)
    return sum([await services.database[name].count_documents(query) for name in collections])


async def stripe_status(emulator: EmulatorServer, payment_intent_id: str) -> str:
    intent = await emulator.stripe_client().v1.payment_intents.retrieve_async(payment_intent_id)
    return str(intent.status)


async def test_an_unpaid_topup_expires_with_its_payment_intent(
    services: Services, emulator: EmulatorServer
) -> None:
    stale = await opened_hours_ago(services, "buyer-x", "old", hours=25)
    fresh = await opened_hours_ago(services, "buyer-x", "new", hours=1)
    assert await services.topups.pending_amount("buyer-x", "usd") == 3000

    outcomes = await run_topup_expiry(services.database, services.topup_expiry, DAY)

    assert outcomes == {"canceled": 1}
    assert (await services.topups.get(stale.id)).status == "canceled"
    assert (await services.topups.get(fresh.id)).status == "requires_payment"
    assert stale.payment_intent_id is not None
    assert fresh.payment_intent_id is not None
    assert await stripe_status(emulator, stale.payment_intent_id) == "canceled"
    assert await stripe_status(emulator, fresh.payment_intent_id) == "requires_payment_method"
    assert await services.topups.pending_amount("buyer-x", "usd") == 1500
    operation = await services.database[Collections.PAYMENT_OPERATIONS].find_one(
        {"kind": "cancel_payment_intent", "refs.topup_id": stale.id}
    )
    assert operation is not None
    assert operation["status"] == "succeeded"
    audited = {"action": "topup.status_changed", "object.id": stale.id, "actor.id": "expire_topups"}
    assert await audit_records(services, audited) == 1
    assert await run_topup_expiry(services.database, services.topup_expiry, DAY) == {}


async def test_a_topup_whose_intent_was_never_attached_gets_it_canceled_too(
    services: Services, emulator: EmulatorServer
) -> None:
    # The answer to the request creating the intent is lost: the top-up has no intent id.
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, drop_response=True
    )
    with pytest.raises(PaymentOutcomeUnknown):
        await services.topups.request("buyer-y", Money(1500, "usd"), "lost")
    orphan = await services.database[Collections.TOPUPS].find_one({"user_id": "buyer-y"})
    assert orphan is not None
    assert "payment_intent_id" not in orphan
    await services.database[Collections.TOPUPS].update_one(
        {"_id": orphan["_id"]}, {"$set": {"created_at": datetime.now(UTC) - 2 * DAY}}
    )

    assert await run_topup_expiry(services.database, services.topup_expiry, DAY) == {"canceled": 1}

    expired = await services.topups.get(orphan["_id"])
    intents = (await emulator.stripe_client().v1.payment_intents.list_async({"limit": 10})).data
    assert [(intent.id, intent.status) for intent in intents] == [(expired.payment_intent_id, "canceled")]


async def test_a_topup_paid_meanwhile_is_left_to_its_webhook(
    services: Services, emulator: EmulatorServer
) -> None:
    paid = await opened_hours_ago(services, "buyer-z", "paid", hours=30)
    assert paid.payment_intent_id is not None
    await emulator.stripe_client().v1.payment_intents.confirm_async(
        paid.payment_intent_id, {"payment_method": "pm_card_visa"}
    )

    assert await run_topup_expiry(services.database, services.topup_expiry, DAY) == {"failed": 1}

    assert (await services.topups.get(paid.id)).status == "requires_payment"  # the webhook credits it
    assert await stripe_status(emulator, paid.payment_intent_id) == "succeeded"


async def test_one_runner_at_a_time(services: Services) -> None:
    await opened_hours_ago(services, "buyer-w", "held", hours=30)
    held = Lease(services.database, TOPUP_EXPIRY_JOB, "another-runner", timedelta(minutes=5))
    assert await held.acquire()

    assert await run_topup_expiry(services.database, services.topup_expiry, DAY) is None
    assert await services.topups.pending_amount("buyer-w", "usd") == 1500


def test_the_service_runs_the_expiry_job(services: Services) -> None:
    assert "topup_expiry" in [job.name for job in in_service_jobs(services)]


async def test_the_expire_topups_command(
    services: Services, settings: Settings, emulator: EmulatorServer
) -> None:
    topup = await opened_hours_ago(services, "buyer-c", "cli", hours=2)
    env = {**environment(settings), "STRIPE_API_BASE": emulator.base_url}

    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["expire-topups", "--older-than-hours", "1"], env=env
    )

    assert result.exit_code == 0, result.output
    assert "1 unpaid top-ups handled: canceled=1" in result.output
    assert (await services.topups.get(topup.id)).status == "canceled"
