"""Money settling as at Stripe: the charge's balance transaction arriving late, funds becoming
available on their `available_on` date, and `balance.available` on each account."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorControlError, EmulatorServer
from tests.stripe_emulator.support import available, paid_intent, pending, verified_account

DAY = 86_400
NET_OF_10_000 = 9_680


def event_types(emulator: EmulatorServer) -> list[str]:
    return [event["type"] for event in reversed(emulator.events())]


async def test_the_balance_transaction_is_null_at_success_and_arrives_with_charge_updated(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client)
    charge_id = str(intent.latest_charge)

    charge = await stripe_client.v1.charges.retrieve_async(charge_id)
    assert charge.balance_transaction is None
    [succeeded] = emulator.events("payment_intent.succeeded")
    [charge_succeeded] = emulator.events("charge.succeeded")
    assert charge_succeeded["data"]["object"]["balance_transaction"] is None
    assert succeeded["data"]["object"]["latest_charge"] == charge_id
    assert await pending(stripe_client) == 0

    emulator.control(f"charges/{charge_id}/balance_transaction")

    [updated] = emulator.events("charge.updated")
    assert updated["data"]["previous_attributes"] == {"balance_transaction": None}
    txn_id = updated["data"]["object"]["balance_transaction"]
    txn = await stripe_client.v1.balance_transactions.retrieve_async(txn_id)
    assert (txn.type, txn.source, txn.amount, txn.fee, txn.net) == ("charge", charge_id, 10_000, 320, 9_680)
    assert txn.available_on == charge.created + 2 * DAY
    assert await pending(stripe_client) == NET_OF_10_000
    assert event_types(emulator)[-1] == "charge.updated"


async def test_immediate_settlement_sets_the_balance_transaction_at_once(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.configure(settlement="immediate")

    intent = await paid_intent(stripe_client)

    [charge_succeeded] = emulator.events("charge.succeeded")
    assert charge_succeeded["data"]["object"]["balance_transaction"].startswith("txn_")
    assert emulator.events("charge.updated") == []
    assert await pending(stripe_client) == NET_OF_10_000
    charge = await stripe_client.v1.charges.retrieve_async(str(intent.latest_charge))
    assert charge.balance_transaction == charge_succeeded["data"]["object"]["balance_transaction"]


async def test_the_balance_transaction_arrives_by_itself_after_the_processing_delay(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.configure(processing_delay_seconds=0.05)

    intent = await paid_intent(stripe_client)
    for _ in range(100):
        if emulator.events("charge.updated"):
            break
        await asyncio.sleep(0.02)

    [updated] = emulator.events("charge.updated")
    assert updated["data"]["object"]["id"] == intent.latest_charge
    assert updated["request"] == {"id": None, "idempotency_key": None}
    assert intent.status == "succeeded"


async def test_funds_become_available_on_their_date_with_balance_available(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    await paid_intent(stripe_client)

    early = emulator.control("clock/advance", seconds=DAY)
    assert (await pending(stripe_client), await available(stripe_client)) == (NET_OF_10_000, 0)
    assert emulator.events("balance.available") == []

    due = emulator.control("clock/advance", seconds=DAY)

    assert (early["settled"], due["settled"]) == (0, 1)
    assert due["offset_seconds"] == 2 * DAY
    assert (await pending(stripe_client), await available(stripe_client)) == (0, NET_OF_10_000)
    [event] = emulator.events("balance.available")
    assert "account" not in event
    assert event["data"]["object"]["available"] == [
        {"amount": NET_OF_10_000, "currency": "usd", "source_types": {"card": NET_OF_10_000}}
    ]
    assert event["created"] >= emulator.inspect("clock")["now"] - 1


async def test_transferred_funds_follow_their_charge_and_settle_per_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seller = await verified_account(stripe_client, emulator)
    intent = await paid_intent(stripe_client)
    transfer: Any = {
        "amount": 6_000,
        "currency": "usd",
        "destination": seller,
        "source_transaction": str(intent.latest_charge),
    }
    await stripe_client.v1.transfers.create_async(transfer)
    assert await pending(stripe_client, seller) == 6_000

    emulator.control(f"accounts/{seller}/settle")

    assert (await pending(stripe_client, seller), await available(stripe_client, seller)) == (0, 6_000)
    [event] = emulator.events("balance.available")
    assert event["account"] == seller
    assert await available(stripe_client) == 0


async def test_settling_the_platform_brings_its_late_balance_transactions(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    platform = (await stripe_client.v1.accounts.retrieve_current_async()).id
    await paid_intent(stripe_client)

    settled = emulator.control(f"accounts/{platform}/settle")

    assert settled == {"settled": 1}
    assert event_types(emulator)[-2:] == ["charge.updated", "balance.available"]
    assert await available(stripe_client) == NET_OF_10_000


async def test_a_refund_before_the_balance_transaction_comes_out_of_pending_funds(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client)

    await stripe_client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 1_000})
    emulator.control("clock/advance", seconds=2 * DAY)

    assert (await pending(stripe_client), await available(stripe_client)) == (0, NET_OF_10_000 - 1_000)
    assert [event["type"] for event in emulator.events("balance.available")] == ["balance.available"]


async def test_the_clock_only_moves_forward(emulator: EmulatorServer) -> None:
    with pytest.raises(EmulatorControlError) as refused:
        emulator.control("clock/advance", seconds=-1)

    assert refused.value.status == 400
    assert emulator.inspect("clock")["offset_seconds"] == 0
