"""Balances moved by transfers, reversals and payouts, as Stripe moves them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import (
    available,
    funded_platform,
    new_account,
    paid_intent,
    pending,
    verified_account,
)

NET_OF_10_000 = 9_680


def transfer(destination: str, amount: int, **params: Any) -> Any:
    return {"amount": amount, "currency": "usd", "destination": destination, **params}


async def test_settling_makes_pending_funds_available(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client)
    emulator.control(f"charges/{intent.latest_charge}/balance_transaction")
    assert (await pending(stripe_client), await available(stripe_client)) == (NET_OF_10_000, 0)

    emulator.settle_balances()

    assert (await pending(stripe_client), await available(stripe_client)) == (0, NET_OF_10_000)


async def test_a_transfer_beyond_the_available_balance_fails(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await paid_intent(stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.transfers.create_async(transfer(account, 1_000))

    assert (raised.value.http_status, raised.value.code) == (400, "balance_insufficient")
    emulator.settle_balances()
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.transfers.create_async(transfer(account, NET_OF_10_000 + 1))


async def test_a_transfer_moves_available_funds_to_the_connected_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)

    sent = await stripe_client.v1.transfers.create_async(
        transfer(account, 7_000, metadata={"escrow": "e1"}, transfer_group="order-1")
    )

    assert sent.id.startswith("tr_")
    assert sent.destination == account
    assert str(sent.destination_payment).startswith("py_")
    assert await available(stripe_client) == NET_OF_10_000 - 7_000
    assert await available(stripe_client, account) == 7_000
    received = await stripe_client.v1.balance_transactions.list_async(options={"stripe_account": account})
    assert [(txn.type, txn.amount) for txn in received.data] == [("payment", 7_000)]
    assert [event["type"] for event in emulator.events("transfer.created")] == ["transfer.created"]


async def test_a_source_transaction_lets_a_transfer_use_pending_funds(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    intent = await paid_intent(stripe_client)
    charge = str(intent.latest_charge)

    await stripe_client.v1.transfers.create_async(transfer(account, 6_000, source_transaction=charge))

    assert await pending(stripe_client, account) == 6_000
    emulator.control(f"charges/{charge}/balance_transaction")
    assert await pending(stripe_client) == NET_OF_10_000 - 6_000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.transfers.create_async(transfer(account, 4_001, source_transaction=charge))
    assert raised.value.code == "balance_insufficient"


async def test_transfers_need_a_connected_account_able_to_receive_them(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    unverified = await new_account(stripe_client)
    await funded_platform(stripe_client, emulator)

    with pytest.raises(stripe.InvalidRequestError) as inactive:
        await stripe_client.v1.transfers.create_async(transfer(unverified.id, 100))
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await stripe_client.v1.transfers.create_async(transfer("acct_nope", 100))

    assert inactive.value.code == "insufficient_capabilities_for_transfer"
    assert (missing.value.code, missing.value.param) == ("resource_missing", "destination")


async def test_a_reversal_takes_money_back_from_the_connected_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)
    sent = await stripe_client.v1.transfers.create_async(transfer(account, 5_000))

    reversal = await stripe_client.v1.transfers.reversals.create_async(sent.id, {"amount": 2_000})

    assert reversal.id.startswith("trr_")
    assert await available(stripe_client, account) == 3_000
    assert await available(stripe_client) == NET_OF_10_000 - 3_000
    reversed_transfer = await stripe_client.v1.transfers.retrieve_async(sent.id)
    assert (reversed_transfer.amount_reversed, reversed_transfer.reversed) == (2_000, False)
    listed = await stripe_client.v1.transfers.reversals.list_async(sent.id)
    assert [found.id for found in listed.data] == [reversal.id]
    fetched = await stripe_client.v1.transfers.reversals.retrieve_async(sent.id, reversal.id)
    assert fetched.amount == 2_000
    [event] = emulator.events("transfer.reversed")
    assert event["data"]["previous_attributes"]["amount_reversed"] == 0


async def test_a_reversal_beyond_the_connected_balance_fails(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)
    sent = await stripe_client.v1.transfers.create_async(transfer(account, 5_000))
    await stripe_client.v1.payouts.create_async(
        {"amount": 4_500, "currency": "usd"}, {"stripe_account": account}
    )

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.transfers.reversals.create_async(sent.id, {"amount": 1_000})

    assert raised.value.code == "balance_insufficient"
    assert await available(stripe_client, account) == 500


async def test_a_payout_needs_available_funds_and_ends_paid(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)
    await stripe_client.v1.transfers.create_async(transfer(account, 5_000))
    on_account: Any = {"stripe_account": account}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payouts.create_async({"amount": 5_001, "currency": "usd"}, on_account)
    payout = await stripe_client.v1.payouts.create_async({"amount": 4_000, "currency": "usd"}, on_account)
    paid = emulator.control(f"payouts/{payout.id}/pay")

    assert raised.value.code == "balance_insufficient"
    assert payout.status == "pending"
    assert paid["status"] == "paid"
    assert await available(stripe_client, account) == 1_000
    created, paid_event = emulator.events("payout.created"), emulator.events("payout.paid")
    assert created[0]["account"] == paid_event[0]["account"] == account
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.payouts.retrieve_async(payout.id)
    fetched = await stripe_client.v1.payouts.retrieve_async(payout.id, options=on_account)
    assert fetched.status == "paid"


async def test_a_failed_payout_returns_the_money(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator)
    await stripe_client.v1.transfers.create_async(transfer(account, 5_000))
    payout = await stripe_client.v1.payouts.create_async(
        {"amount": 5_000, "currency": "usd"}, {"stripe_account": account}
    )
    assert await available(stripe_client, account) == 0

    failed = emulator.control(f"payouts/{payout.id}/fail")

    assert (failed["status"], failed["failure_code"]) == ("failed", "account_closed")
    assert failed["failure_balance_transaction"].startswith("txn_")
    assert await available(stripe_client, account) == 5_000
    assert emulator.events("payout.failed")[0]["account"] == account
    txns = await stripe_client.v1.balance_transactions.list_async(
        {"payout": payout.id}, {"stripe_account": account}
    )
    assert sorted(txn.type for txn in txns.data) == ["payout", "payout_failure"]


async def test_a_restricted_account_cannot_pay_out(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    emulator.control(f"accounts/{account}/restrict")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payouts.create_async(
            {"amount": 100, "currency": "usd"}, {"stripe_account": account}
        )

    assert raised.value.code == "payouts_not_allowed"


async def test_balance_transactions_filter_by_type_and_created(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await verified_account(stripe_client, emulator)
    intent = await funded_platform(stripe_client, emulator)
    await stripe_client.v1.transfers.create_async(transfer(account, 1_000))

    charges = await stripe_client.v1.balance_transactions.list_async({"type": "charge"})
    recent = await stripe_client.v1.balance_transactions.list_async({"created": {"gte": intent.created}})
    future = await stripe_client.v1.balance_transactions.list_async(
        {"created": {"gt": intent.created + 3_600}}
    )

    assert [txn.type for txn in charges.data] == ["charge"]
    assert [txn.type for txn in recent.data] == ["transfer", "charge"]
    assert future.data == []
