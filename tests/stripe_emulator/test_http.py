"""Stripe's HTTP conventions: authentication, error bodies, headers, Stripe-Account, expand."""

from __future__ import annotations

import httpx
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


async def test_a_wrong_api_key_is_refused_with_401(emulator: EmulatorServer) -> None:
    http_client = stripe.HTTPXClient()
    client = emulator.stripe_client(http_client, api_key="sk_test_wrong_key_1234")
    with pytest.raises(stripe.AuthenticationError) as raised:
        await client.v1.balance.retrieve_async()
    await close(http_client)
    assert raised.value.http_status == 401
    error = error_body(raised.value)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid API Key provided: sk_test_")
    assert "wrong_key" not in error["message"]


def test_a_missing_api_key_is_refused_with_401(emulator: EmulatorServer) -> None:
    response = httpx.get(f"{emulator.base_url}/v1/balance")
    assert response.status_code == 401
    assert "did not provide an API key" in response.json()["error"]["message"]


def test_basic_auth_is_accepted(emulator: EmulatorServer) -> None:
    response = httpx.get(f"{emulator.base_url}/v1/balance", auth=(emulator.settings.api_key, ""))
    assert response.status_code == 200


def test_error_bodies_and_headers_are_stripes(emulator: EmulatorServer) -> None:
    response = httpx.get(
        f"{emulator.base_url}/v1/transfers/tr_missing",
        headers={"Authorization": f"Bearer {emulator.settings.api_key}"},
    )
    assert response.status_code == 404
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["param"] == "id"
    assert error["message"] == "No such transfer: 'tr_missing'"
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing"


def test_a_malformed_form_body_is_refused(emulator: EmulatorServer) -> None:
    response = httpx.post(
        f"{emulator.base_url}/v1/transfers",
        content="amount[=1",
        headers={
            "Authorization": f"Bearer {emulator.settings.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_an_unknown_url_is_a_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.raw_request_async("get", "/v1/no_such_things")
    assert raised.value.http_status == 404
    assert "Unrecognized request URL (GET: /v1/no_such_things)" in str(raised.value.user_message)


async def test_responses_carry_a_request_id(stripe_client: stripe.StripeClient) -> None:
    balance = await stripe_client.v1.balance.retrieve_async()
    assert headers(balance)["Request-Id"].startswith("req_")
    assert headers(balance)["Stripe-Version"] == stripe.api_version


async def test_an_unknown_stripe_account_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        await stripe_client.v1.balance.retrieve_async(options={"stripe_account": "acct_nope"})
    assert raised.value.http_status == 403
    assert error_body(raised.value)["code"] == "account_invalid"


async def test_stripe_account_scopes_objects_to_the_connected_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)

    on_platform = await stripe_client.v1.balance_transactions.list_async()
    on_account = await stripe_client.v1.balance_transactions.list_async(options={"stripe_account": account})
    charge_txn = on_platform.data[0]

    assert [txn.type for txn in on_platform.data] == ["charge"]
    assert on_account.data == []
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.balance_transactions.retrieve_async(
            charge_txn.id, options={"stripe_account": account}
        )


async def test_expand_replaces_ids_with_objects(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)

    expanded = await stripe_client.v1.payment_intents.retrieve_async(
        intent.id, {"expand": ["latest_charge.balance_transaction"]}
    )
    charges = await stripe_client.v1.charges.list_async({"expand": ["data.balance_transaction"]})

    charge = expanded.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert isinstance(charge.balance_transaction, stripe.BalanceTransaction)
    assert charge.balance_transaction.fee == 320
    assert isinstance(charges.data[0].balance_transaction, stripe.BalanceTransaction)
