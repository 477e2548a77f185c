"""A Stripe call whose answer was lost is finished by the janitor running inside the service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from app.auth import Role
from app.config import Settings
from app.db import Collections, Database
from tests.conftest import TokenFactory, bearer, eventually_found, make_settings

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        stripe_max_network_retries=0,
        stripe_retry_attempts=1,
        jobs_enabled=True,
        payment_operations_janitor_interval_seconds=0.1,
        payment_operations_stale_after_seconds=0,
    )


async def test_a_dropped_topup_intent_is_recovered_and_the_retry_gets_the_same_intent(
    client: httpx.AsyncClient, emulator: EmulatorServer, database: Database, token: TokenFactory
) -> None:
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, drop_response=True
    )
    headers = {**bearer(token("buyer-j", Role.BUYER)), "Idempotency-Key": "topup-dropped"}
    body = {"amount": 1200, "currency": "usd"}

    lost = await client.post("/wallet/topup_request", json=body, headers=headers)
    assert lost.status_code == 504
    assert lost.json()["code"] == "payment_outcome_unknown"

    operation = await eventually_found(database, Collections.PAYMENT_OPERATIONS, {"status": "succeeded"})
    retried = await client.post("/wallet/topup_request", json=body, headers=headers)

    assert retried.status_code == 201
    assert retried.json()["payment_intent_id"] == operation["result"]["id"]
    intents = await emulator.stripe_client().v1.payment_intents.list_async()
    assert [pi.id for pi in intents.data] == [operation["result"]["id"]]
