"""What a top-up request costs in MongoDB commands, against the Stripe emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from tests.command_log import CommandLog
from tests.conftest import TokenFactory, bearer

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


async def test_a_topup_request_is_six_commands_around_the_stripe_call(
    app: FastAPI,
    client: httpx.AsyncClient,
    token: TokenFactory,
    command_log: CommandLog,
    emulator: EmulatorServer,
) -> None:
    services: Services = app.state.services
    headers = {**bearer(token("buyer-c", Role.BUYER)), "Idempotency-Key": "cost-1"}
    await services.feature_flags.states()  # the flags' rules, as a running process has them cached

    with command_log.recording(services.settings.mongodb_database) as commands:
        response = await client.post(
            "/wallet/topup_request", json={"amount": 1000, "currency": "usd"}, headers=headers
        )

    assert response.status_code == 201, response.text
    topup = response.json()
    assert (topup["status"], topup["amount"]) == ("requires_payment", 1000)
    assert [(c.name, c.collection) for c in commands] == [
        ("insert", "idempotency_keys"),
        # on the buyer's list of openings, opened, and its Stripe call recorded before it is made
        ("bulkWrite", "topup_openings+topups+payment_operations"),
        ("update", "topups"),  # its PaymentIntent attached: open for payment
        # the call completed with Stripe's answer, and the opening audited, in the same transaction
        ("bulkWrite", "payment_operations+audit_pending"),
        ("commitTransaction", None),
        ("update", "idempotency_keys"),  # the answer stored
    ]
    stored = await services.topups.get(topup["topup_id"])
    assert stored.payment_intent_id == topup["payment_intent_id"]
    operation = await services.database["payment_operations"].find_one({"_id": f"topup:{topup['topup_id']}"})
    assert operation is not None
    assert (operation["status"], operation["attempts"]) == ("succeeded", 1)
