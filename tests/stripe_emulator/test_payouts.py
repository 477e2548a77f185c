"""Payouts go to a real bank account of the account; Stripe's test bank numbers decide them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import available, funded_platform, new_account

PAYOUT: Any = {"amount": 5_000, "currency": "usd"}


async def seller_with_funds(
    client: stripe.StripeClient, emulator: EmulatorServer, account_number: str
) -> str:
    account = await new_account(client)
    emulator.control(f"accounts/{account.id}/verify", account_number=account_number)
    await funded_platform(client, emulator)
    transfer: Any = {**PAYOUT, "destination": account.id}
    await client.v1.transfers.create_async(transfer)
    return account.id


@pytest.mark.parametrize(
    ("account_number", "failure_code"),
    [
        ("000111111116", "no_account"),
        ("000111111113", "account_closed"),
        ("000222222227", "insufficient_funds"),
        ("000333333335", "debit_not_authorized"),
        ("000444444440", "invalid_currency"),
    ],
)
async def test_a_failing_test_bank_number_fails_the_payout_and_returns_the_money(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, account_number: str, failure_code: str
) -> None:
    seller = await seller_with_funds(stripe_client, emulator, account_number)
    on_seller: Any = {"stripe_account": seller}

    payout = await stripe_client.v1.payouts.create_async(PAYOUT, on_seller)

    assert payout.status == "pending"
    failed = await stripe_client.v1.payouts.retrieve_async(payout.id, options=on_seller)
    assert (failed.status, failed.failure_code) == ("failed", failure_code)
    assert failed.failure_message
    assert [
        event["type"] for event in reversed(emulator.events()) if event["type"].startswith("payout.")
    ] == [
        "payout.created",
        "payout.failed",
    ]
    assert await available(stripe_client, seller) == 5_000


async def test_the_paying_test_number_pays_to_the_accounts_own_bank_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seller = await seller_with_funds(stripe_client, emulator, "000123456789")
    on_seller: Any = {"stripe_account": seller}

    payout = await stripe_client.v1.payouts.create_async(PAYOUT, on_seller)
    paid = emulator.control(f"payouts/{payout.id}/pay")

    [bank_account] = (await stripe_client.v1.accounts.external_accounts.list_async(seller)).data
    assert payout.destination == bank_account.id
    assert paid["status"] == "paid"
    assert emulator.events("payout.failed") == []
    expanded = await stripe_client.v1.payouts.retrieve_async(
        payout.id, {"expand": ["destination"]}, options=on_seller
    )
    assert isinstance(expanded.destination, stripe.BankAccount)
    assert expanded.destination.last4 == "6789"


async def test_a_payout_to_another_accounts_bank_account_is_refused(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seller = await seller_with_funds(stripe_client, emulator, "000123456789")
    other = await seller_with_funds(stripe_client, emulator, "000123456789")
    [foreign] = (await stripe_client.v1.accounts.external_accounts.list_async(other)).data

    params: Any = {**PAYOUT, "destination": foreign.id}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await stripe_client.v1.payouts.create_async(params, {"stripe_account": seller})

    assert (refused.value.http_status, refused.value.code, refused.value.param) == (
        400,
        "resource_missing",
        "destination",
    )


async def test_the_platform_pays_out_to_its_own_bank_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    await funded_platform(stripe_client, emulator)
    platform = await stripe_client.v1.accounts.retrieve_current_async()
    assert platform.external_accounts is not None
    [bank_account] = platform.external_accounts.data

    payout = await stripe_client.v1.payouts.create_async(PAYOUT)

    assert payout.destination == bank_account.id
