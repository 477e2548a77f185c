"""Refunds as Stripe runs them: pending, then succeeded or failed, with events in Stripe's order."""

from __future__ import annotations

import asyncio

import pytest
import stripe

from stripe_emulator.testing import EmulatorControlError, EmulatorServer
from tests.stripe_emulator.support import available, funded_platform

NET_OF_10_000 = 9_680


def refund_event_types(emulator: EmulatorServer) -> list[str]:
    return [
        event["type"]
        for event in reversed(emulator.events())
        if event["type"].startswith(("refund.", "charge.refunded"))
    ]


async def test_a_refund_is_pending_then_succeeds(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)

    refund = await stripe_client.v1.refunds.create_async(
        {"payment_intent": intent.id, "amount": 3_000, "reason": "requested_by_customer"}
    )
    succeeded = emulator.control(f"refunds/{refund.id}/succeed")

    assert (refund.status, refund.amount, refund.reason) == ("pending", 3_000, "requested_by_customer")
    assert succeeded["status"] == "succeeded"
    assert refund_event_types(emulator) == ["refund.created", "charge.refunded", "refund.updated"]
    [updated] = emulator.events("refund.updated")
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    assert await available(stripe_client) == NET_OF_10_000 - 3_000


async def test_a_failed_refund_gives_the_money_back_and_the_charge_can_be_refunded_again(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)
    refund = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id})
    assert await available(stripe_client) == NET_OF_10_000 - 10_000

    failed = emulator.control(f"refunds/{refund.id}/fail", failure_reason="lost_or_stolen_card")

    assert (failed["status"], failed["failure_reason"]) == ("failed", "lost_or_stolen_card")
    assert refund_event_types(emulator) == [
        "refund.created",
        "charge.refunded",
        "refund.updated",
        "refund.failed",
    ]
    assert await available(stripe_client) == NET_OF_10_000
    returned = await stripe_client.v1.balance_transactions.retrieve_async(
        failed["failure_balance_transaction"]
    )
    assert (returned.type, returned.amount, returned.source) == ("refund_failure", 10_000, refund.id)
    charge = await stripe_client.v1.charges.retrieve_async(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    again = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id})
    assert again.amount == 10_000


async def test_refunds_of_the_refund_fail_card_fail_with_expired_or_canceled_card(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator, payment_method="pm_card_refundFail")
    refund = await stripe_client.v1.refunds.create_async({"charge": str(intent.latest_charge)})

    emulator.control("clock/advance", seconds=0)

    finished = await stripe_client.v1.refunds.retrieve_async(refund.id)
    assert (finished.status, finished.failure_reason) == ("failed", "expired_or_canceled_card")
    assert [event["type"] for event in emulator.events("refund.failed")] == ["refund.failed"]


async def test_a_pending_refund_finishes_by_itself_after_the_processing_delay(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    emulator.configure(processing_delay_seconds=0.05)
    intent = await funded_platform(stripe_client, emulator)

    refund = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 100})
    for _ in range(100):
        if (await stripe_client.v1.refunds.retrieve_async(refund.id)).status != "pending":
            break
        await asyncio.sleep(0.02)

    assert refund.status == "pending"
    assert (await stripe_client.v1.refunds.retrieve_async(refund.id)).status == "succeeded"
    [updated] = emulator.events("refund.updated")
    assert updated["request"] == {"id": None, "idempotency_key": None}


async def test_refunds_never_exceed_the_charge(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)

    partial = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 3_000})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        await stripe_client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 7_001})
    rest = await stripe_client.v1.refunds.create_async({"charge": str(intent.latest_charge)})
    with pytest.raises(stripe.InvalidRequestError) as again:
        await stripe_client.v1.refunds.create_async({"charge": str(intent.latest_charge)})

    assert rest.amount == 7_000
    assert too_much.value.code == "amount_too_large"
    assert again.value.code == "charge_already_refunded"
    charge = await stripe_client.v1.charges.retrieve_async(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (10_000, True)
    assert await available(stripe_client) == NET_OF_10_000 - 10_000
    listed = await stripe_client.v1.refunds.list_async({"payment_intent": intent.id})
    assert [found.id for found in listed.data] == [rest.id, partial.id]


async def test_only_a_pending_refund_can_succeed_or_fail(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)
    refund = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id})
    emulator.control(f"refunds/{refund.id}/succeed")

    with pytest.raises(EmulatorControlError) as refused:
        emulator.control(f"refunds/{refund.id}/fail")

    assert refused.value.status == 400
    assert "only a pending refund" in refused.value.body["error"]["message"]
