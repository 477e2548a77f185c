"""Injected faults: errors, rate limits, latency and responses lost after the operation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import (
    close,
    error_body,
    funded_platform,
    headers,
    verified_account,
)


@pytest.fixture
async def retrying_client(emulator: EmulatorServer) -> AsyncIterator[stripe.StripeClient]:
    """A client with the SDK's own retries on, as the service runs it."""
    http_client = stripe.HTTPXClient(timeout=2)
    yield emulator.stripe_client(http_client, max_network_retries=2)
    await close(http_client)


async def transfer_params(client: stripe.StripeClient, emulator: EmulatorServer) -> Any:
    account = await verified_account(client, emulator)
    await funded_platform(client, emulator)
    return {"amount": 1_000, "currency": "usd", "destination": account}


async def transfer_count(client: stripe.StripeClient) -> int:
    return len((await client.v1.transfers.list_async()).data)


async def test_an_injected_500_fails_the_call_without_doing_it(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", status=500)

    with pytest.raises(stripe.APIError) as raised:
        await stripe_client.v1.transfers.create_async(params)

    assert raised.value.http_status == 500
    assert error_body(raised.value)["type"] == "api_error"
    assert await transfer_count(stripe_client) == 0
    await stripe_client.v1.transfers.create_async(params)
    assert await transfer_count(stripe_client) == 1


async def test_the_sdk_retries_through_a_500(
    retrying_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(retrying_client, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", status=500)

    await retrying_client.v1.transfers.create_async(params)

    assert await transfer_count(retrying_client) == 1
    assert emulator.inspect("faults") == {"faults": []}


async def test_a_rate_limit_is_a_429_the_sdk_does_not_retry(
    retrying_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.inject_fault("/v1/balance", status=429)

    with pytest.raises(stripe.RateLimitError) as raised:
        await retrying_client.v1.balance.retrieve_async()

    assert raised.value.http_status == 429
    assert raised.value.headers is not None
    assert "Stripe-Should-Retry" not in raised.value.headers
    assert error_body(raised.value)["code"] == "rate_limit"


async def test_a_lock_timeout_asks_the_sdk_to_retry(
    retrying_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.inject_fault("/v1/balance", status=429, code="lock_timeout", count=2)

    balance = await retrying_client.v1.balance.retrieve_async()

    assert balance.object == "balance"
    assert emulator.inspect("faults") == {"faults": []}


async def test_faults_match_on_method_and_path(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.inject_fault("/v1/transfers", method="POST", status=500)

    await stripe_client.v1.transfers.list_async()
    await stripe_client.v1.balance.retrieve_async()

    assert len(emulator.inspect("faults")["faults"]) == 1


async def test_a_dropped_response_still_performs_the_operation(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", drop_response=True)

    with pytest.raises(stripe.APIConnectionError):
        await stripe_client.v1.transfers.create_async(params, {"idempotency_key": "release-9"})
    assert await transfer_count(stripe_client) == 1

    again = await stripe_client.v1.transfers.create_async(params, {"idempotency_key": "release-9"})

    assert headers(again)["Idempotent-Replayed"] == "true"
    assert await transfer_count(stripe_client) == 1


async def test_the_sdk_retry_after_a_dropped_response_gives_one_object(
    retrying_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(retrying_client, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", drop_response=True)

    created = await retrying_client.v1.transfers.create_async(params)

    assert headers(created)["Idempotent-Replayed"] == "true"
    assert await transfer_count(retrying_client) == 1


async def test_latency_delays_the_answer(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.inject_fault("/v1/balance", delay_seconds=0.3)

    started = time.monotonic()
    await stripe_client.v1.balance.retrieve_async()

    assert time.monotonic() - started >= 0.3


async def test_a_client_timeout_leaves_the_outcome_to_be_learnt(
    emulator: EmulatorServer, stripe_client: stripe.StripeClient
) -> None:
    params = await transfer_params(stripe_client, emulator)
    http_client = stripe.HTTPXClient(timeout=0.1)
    impatient = emulator.stripe_client(http_client)
    emulator.inject_fault("/v1/transfers", method="POST", delay_seconds=0.3)

    with pytest.raises(stripe.APIConnectionError):
        await impatient.v1.transfers.create_async(params, {"idempotency_key": "release-10"})
    await close(http_client)
    await asyncio.sleep(0.4)

    learnt = await stripe_client.v1.transfers.create_async(params, {"idempotency_key": "release-10"})
    assert headers(learnt)["Idempotent-Replayed"] == "true"
    assert await transfer_count(stripe_client) == 1
