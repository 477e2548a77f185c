"""Idempotency-Key: one object per key, the first answer replayed byte for byte."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import close, error_body, funded_platform, headers, verified_account


async def transfer_params(client: stripe.StripeClient, emulator: EmulatorServer) -> Any:
    account = await verified_account(client, emulator)
    await funded_platform(client, emulator)
    return {"amount": 1000, "currency": "usd", "destination": account}


async def test_a_repeated_key_replays_the_first_response(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    options: Any = {"idempotency_key": "release-1"}

    first = await stripe_client.v1.transfers.create_async(params, options)
    second = await stripe_client.v1.transfers.create_async(params, options)

    assert second.id == first.id
    assert headers(first).get("Idempotent-Replayed") is None
    assert headers(second)["Idempotent-Replayed"] == "true"
    assert first.last_response is not None
    assert second.last_response is not None
    assert second.last_response.body == first.last_response.body
    assert len((await stripe_client.v1.transfers.list_async()).data) == 1


async def test_a_key_reused_with_other_parameters_is_an_idempotency_error(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    options: Any = {"idempotency_key": "release-2"}
    await stripe_client.v1.transfers.create_async(params, options)

    with pytest.raises(stripe.IdempotencyError) as raised:
        await stripe_client.v1.transfers.create_async(cast(Any, {**params, "amount": 999}), options)

    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"
    assert "same parameters" in str(raised.value.user_message)


async def test_a_request_while_another_holds_its_key_is_a_409(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", count=2, delay_seconds=0.5)
    options: Any = {"idempotency_key": "release-3"}

    answers = await asyncio.gather(
        *(stripe_client.v1.transfers.create_async(params, options) for _ in range(2)), return_exceptions=True
    )

    [created] = [answer for answer in answers if isinstance(answer, stripe.Transfer)]
    [in_use] = [answer for answer in answers if isinstance(answer, stripe.APIError)]
    assert (in_use.http_status, error_body(in_use)["code"]) == (409, "idempotency_key_in_use")
    assert in_use.headers is not None
    assert "Idempotent-Replayed" not in in_use.headers
    again = await stripe_client.v1.transfers.create_async(params, options)
    assert again.id == created.id
    assert headers(again)["Idempotent-Replayed"] == "true"
    assert len((await stripe_client.v1.transfers.list_async()).data) == 1


async def test_concurrent_requests_with_one_key_create_one_object_when_clients_retry_the_409(
    emulator: EmulatorServer,
) -> None:
    http_client = stripe.HTTPXClient()
    retrying = emulator.stripe_client(http_client, max_network_retries=5)
    params = await transfer_params(retrying, emulator)
    emulator.inject_fault("/v1/transfers", method="POST", count=8, delay_seconds=0.1)
    options: Any = {"idempotency_key": "release-3"}

    transfers = await asyncio.gather(*(retrying.v1.transfers.create_async(params, options) for _ in range(8)))
    listed = await retrying.v1.transfers.list_async()
    await close(http_client)

    assert len({transfer.id for transfer in transfers}) == 1
    assert sum(headers(transfer).get("Idempotent-Replayed") == "true" for transfer in transfers) == 7
    assert len(listed.data) == 1


async def test_an_error_answer_is_replayed_too(stripe_client: stripe.StripeClient) -> None:
    params: Any = {
        "amount": 1000,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    options: Any = {"idempotency_key": "checkout-1"}
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as raised:
            await stripe_client.v1.payment_intents.create_async(params, options)
        errors.append(raised.value)

    assert errors[0].http_body == errors[1].http_body
    assert errors[1].headers is not None
    assert errors[1].headers["Idempotent-Replayed"] == "true"
    assert len((await stripe_client.v1.payment_intents.list_async()).data) == 1


async def test_a_refused_request_does_not_use_up_its_key(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    params = await transfer_params(stripe_client, emulator)
    options: Any = {"idempotency_key": "release-4"}
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.transfers.create_async(cast(Any, {**params, "bogus": "1"}), options)

    transfer = await stripe_client.v1.transfers.create_async(params, options)

    assert headers(transfer).get("Idempotent-Replayed") is None
