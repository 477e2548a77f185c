"""A buyer holds at most TOPUP_MAX_OPEN_PER_BUYER top-ups awaiting payment, however many
requests race; beyond it 429, which the same key may retry once a top-up is settled."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest

from app.auth import Role
from app.config import Settings
from app.db import Collections, Database
from tests.conftest import TokenFactory, bearer, make_settings

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

LIMIT = 3


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(mongodb_uri, stripe_api_base=emulator.base_url, topup_max_open_per_buyer=LIMIT)


async def request_topup(client: httpx.AsyncClient, token: str, key: str) -> httpx.Response:
    return await client.post(
        "/wallet/topup_request",
        json={"amount": 1000, "currency": "usd"},
        headers={**bearer(token), "Idempotency-Key": key},
    )


async def test_beyond_the_limit_is_429_and_the_same_key_passes_once_one_is_settled(
    client: httpx.AsyncClient, database: Database, token: TokenFactory
) -> None:
    buyer = token("buyer-l", Role.BUYER)
    opened = [await request_topup(client, buyer, f"key-{n}") for n in range(LIMIT)]
    refused = await request_topup(client, buyer, "key-over")
    replayed = await request_topup(client, buyer, "key-0")
    other_buyer = await request_topup(client, token("buyer-m", Role.BUYER), "key-over")

    assert [response.status_code for response in opened] == [201] * LIMIT
    assert refused.status_code == 429
    assert (refused.json()["code"], refused.json()["limit"]) == ("too_many_open_topups", LIMIT)
    assert replayed.status_code == 201  # a top-up already open is not a new one
    assert other_buyer.status_code == 201

    # The buyer's card fails on one: it no longer awaits payment.
    await database[Collections.TOPUPS].update_one(
        {"_id": opened[0].json()["topup_id"]}, {"$set": {"status": "failed"}}
    )
    retried = await request_topup(client, buyer, "key-over")
    assert retried.status_code == 201
    assert await database[Collections.TOPUPS].count_documents({"user_id": "buyer-l"}) == LIMIT + 1


async def test_racing_requests_never_open_more_than_the_limit(
    client: httpx.AsyncClient, database: Database, emulator: EmulatorServer, token: TokenFactory
) -> None:
    buyer = token("buyer-r", Role.BUYER)

    responses = await asyncio.gather(*(request_topup(client, buyer, f"race-{n}") for n in range(10)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * LIMIT + [429] * (10 - LIMIT)
    assert await database[Collections.TOPUPS].count_documents({"user_id": "buyer-r"}) == LIMIT
    intents = await emulator.stripe_client().v1.payment_intents.list_async({"limit": 100})
    assert len(intents.data) == LIMIT


async def test_a_429_frees_the_key_for_the_same_request_only(
    client: httpx.AsyncClient, database: Database, token: TokenFactory
) -> None:
    buyer = token("buyer-k", Role.BUYER)
    opened = [await request_topup(client, buyer, f"key-{n}") for n in range(LIMIT)]
    refused = await request_topup(client, buyer, "key-over")

    other_body = await client.post(
        "/wallet/topup_request",
        json={"amount": 2000, "currency": "usd"},
        headers={**bearer(buyer), "Idempotency-Key": "key-over"},
    )

    assert [response.status_code for response in opened] == [201] * LIMIT
    assert refused.status_code == 429
    # The key stays bound to its first request: released by the 429, but not for another body.
    assert (other_body.status_code, other_body.json()["code"]) == (409, "idempotency_key_reused")
    await database[Collections.TOPUPS].update_one(
        {"_id": opened[0].json()["topup_id"]}, {"$set": {"status": "canceled"}}
    )
    assert (await request_topup(client, buyer, "key-over")).status_code == 201
