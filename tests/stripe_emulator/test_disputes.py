"""Disputes: opened on a charge, answered, won or lost, with their funds."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.testing import EmulatorControlError, EmulatorServer
from tests.stripe_emulator.support import available, funded_platform

NET_OF_10_000 = 9_680
DISPUTE_FEE = 1_500


async def open_dispute(stripe_client: stripe.StripeClient, emulator: EmulatorServer) -> str:
    intent = await funded_platform(stripe_client, emulator)
    dispute: str = emulator.control(f"charges/{intent.latest_charge}/dispute")["id"]
    return dispute


async def test_an_opened_dispute_withdraws_the_amount_and_the_fee(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    dispute_id = await open_dispute(stripe_client, emulator)

    dispute = await stripe_client.v1.disputes.retrieve_async(dispute_id)

    assert dispute_id.startswith("dp_")
    assert (dispute.status, dispute.amount, dispute.reason) == ("needs_response", 10_000, "fraudulent")
    assert [txn.net for txn in dispute.balance_transactions] == [-10_000 - DISPUTE_FEE]
    assert await available(stripe_client) == NET_OF_10_000 - 10_000 - DISPUTE_FEE
    assert len(emulator.events("charge.dispute.funds_withdrawn")) == 1


async def test_submitted_evidence_puts_the_dispute_under_review(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    dispute_id = await open_dispute(stripe_client, emulator)

    staged = await stripe_client.v1.disputes.update_async(
        dispute_id, {"evidence": {"uncategorized_text": "Delivered."}, "submit": False}
    )
    submitted = await stripe_client.v1.disputes.update_async(
        dispute_id, {"evidence": {"shipping_tracking_number": "1Z999"}, "metadata": {"case": "c1"}}
    )

    assert staged.status == "needs_response"
    assert staged.evidence_details.has_evidence is True
    assert submitted.status == "under_review"
    assert submitted.evidence.uncategorized_text == "Delivered."
    assert submitted.evidence_details.submission_count == 1
    updates = emulator.events("charge.dispute.updated")
    assert updates[0]["data"]["previous_attributes"]["status"] == "needs_response"


async def test_a_won_dispute_reinstates_the_funds(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    dispute_id = await open_dispute(stripe_client, emulator)

    won = emulator.control(f"disputes/{dispute_id}/win")

    assert won["status"] == "won"
    assert await available(stripe_client) == NET_OF_10_000
    assert len(emulator.events("charge.dispute.funds_reinstated")) == 1
    assert len(emulator.events("charge.dispute.closed")) == 1


async def test_a_lost_dispute_keeps_the_funds_withdrawn(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    dispute_id = await open_dispute(stripe_client, emulator)

    lost = emulator.control(f"disputes/{dispute_id}/lose")

    assert lost["status"] == "lost"
    assert await available(stripe_client) == NET_OF_10_000 - 10_000 - DISPUTE_FEE
    assert emulator.events("charge.dispute.funds_reinstated") == []


async def test_closing_accepts_the_dispute_and_a_closed_one_stays_closed(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    dispute_id = await open_dispute(stripe_client, emulator)

    closed = await stripe_client.v1.disputes.close_async(dispute_id)

    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.disputes.close_async(dispute_id)
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.disputes.update_async(dispute_id, {"evidence": {"uncategorized_text": "late"}})


async def test_a_disputed_charge_cannot_be_refunded(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)
    emulator.control(f"charges/{intent.latest_charge}/dispute")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.refunds.create_async({"payment_intent": intent.id})

    assert raised.value.code == "charge_disputed"


async def test_a_fully_refunded_charge_cannot_be_disputed(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)
    refund = await stripe_client.v1.refunds.create_async({"payment_intent": intent.id})
    emulator.control(f"refunds/{refund.id}/succeed")

    with pytest.raises(EmulatorControlError) as refused:
        emulator.control(f"charges/{intent.latest_charge}/dispute")

    assert "cannot be disputed" in str(refused.value)
    assert emulator.events("charge.dispute.created") == []
