"""Payment intents with Stripe's test payment methods."""

from __future__ import annotations

import re
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import paid_intent, pending


def event_types(emulator: EmulatorServer) -> list[str]:
    return [event["type"] for event in reversed(emulator.events())]


async def test_a_new_intent_awaits_a_payment_method(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await stripe_client.v1.payment_intents.create_async(
        {"amount": 2500, "currency": "usd", "metadata": {"order_id": "o1"}}
    )

    assert intent.status == "requires_payment_method"
    assert re.fullmatch(rf"{intent.id}_secret_\w+", intent.client_secret or "")
    assert intent.livemode is False
    assert intent.metadata.to_dict() == {"order_id": "o1"}
    assert event_types(emulator) == ["payment_intent.created"]


async def test_pm_card_visa_succeeds_with_a_charge_and_pending_funds(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await stripe_client.v1.payment_intents.create_async({"amount": 10_000, "currency": "usd"})
    confirmed = await stripe_client.v1.payment_intents.confirm_async(
        intent.id, {"payment_method": "pm_card_visa"}
    )

    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 10_000
    assert isinstance(confirmed.latest_charge, str)
    emulator.control(f"charges/{confirmed.latest_charge}/balance_transaction")
    charge = await stripe_client.v1.charges.retrieve_async(confirmed.latest_charge)
    assert (charge.status, charge.paid, charge.payment_intent) == ("succeeded", True, intent.id)
    assert isinstance(charge.balance_transaction, str)
    txn = await stripe_client.v1.balance_transactions.retrieve_async(charge.balance_transaction)
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.status) == (
        "charge",
        10_000,
        320,
        9_680,
        "pending",
    )
    assert txn.available_on > txn.created
    assert await pending(stripe_client) == 9_680
    assert event_types(emulator) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.updated",
    ]


@pytest.mark.parametrize(
    ("amount", "fee"), [(50, 31), (1_000, 59), (1_017, 59), (1_018, 60), (10_000, 320), (99_999, 2_930)]
)
async def test_the_card_fee_is_2_9_percent_plus_30_rounded_half_up(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, amount: int, fee: int
) -> None:
    emulator.configure(settlement="immediate")
    intent = await paid_intent(stripe_client, amount)
    charge = await stripe_client.v1.charges.retrieve_async(
        str(intent.latest_charge), {"expand": ["balance_transaction"]}
    )
    assert isinstance(charge.balance_transaction, stripe.BalanceTransaction)
    txn = charge.balance_transaction
    assert (txn.fee, txn.net) == (fee, amount - fee)
    assert [(detail.type, detail.amount) for detail in txn.fee_details] == [("stripe_fee", fee)]


@pytest.mark.parametrize("payment_method", ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"])
async def test_a_declined_card_is_a_card_error_and_the_intent_awaits_another(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, payment_method: str
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        await paid_intent(stripe_client, 1_000, payment_method)

    assert raised.value.http_status == 402
    assert raised.value.code == "card_declined"
    assert raised.value.error is not None
    assert raised.value.error.decline_code == "generic_decline"
    intent = raised.value.error.payment_intent
    assert intent is not None
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert intent.last_payment_error.code == "card_declined"
    assert "payment_intent.payment_failed" in event_types(emulator)
    assert await pending(stripe_client) == 0


async def test_a_card_requiring_authentication_needs_an_action_then_completes(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client, 1_000, "pm_card_authenticationRequired")

    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.type == "use_stripe_sdk"
    completed = emulator.control(f"payment_intents/{intent.id}/succeed")
    assert completed["status"] == "succeeded"
    assert completed["latest_charge"].startswith("ch_")
    assert "payment_intent.requires_action" in event_types(emulator)


async def test_failed_authentication_returns_the_intent_to_requires_payment_method(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client, 1_000, "pm_card_authenticationRequired")

    failed = emulator.control(f"payment_intents/{intent.id}/fail")

    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert event_types(emulator)[-1] == "payment_intent.payment_failed"


async def test_pm_card_create_dispute_succeeds_then_opens_a_dispute(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client, 5_000, "pm_card_createDispute")

    [dispute] = (await stripe_client.v1.disputes.list_async()).data
    assert intent.status == "succeeded"
    assert (dispute.status, dispute.reason, dispute.amount) == ("needs_response", "fraudulent", 5_000)
    assert dispute.charge == intent.latest_charge
    charge = await stripe_client.v1.charges.retrieve_async(str(intent.latest_charge))
    assert charge.disputed is True
    assert event_types(emulator)[-2:] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]


async def test_cancel_cancels_and_a_succeeded_intent_cannot_be(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})
    canceled = await stripe_client.v1.payment_intents.cancel_async(
        intent.id, {"cancellation_reason": "abandoned"}
    )
    paid = await paid_intent(stripe_client)

    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    assert event_types(emulator)[1] == "payment_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payment_intents.cancel_async(paid.id)
    assert raised.value.code == "payment_intent_unexpected_state"


async def test_confirming_without_a_payment_method_is_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payment_intents.confirm_async(intent.id)
    assert raised.value.code == "payment_intent_unexpected_state"


@pytest.mark.parametrize(
    ("params", "code_or_param"),
    [
        ({"amount": 49, "currency": "usd"}, "amount_too_small"),
        ({"amount": 29, "currency": "gbp"}, "amount_too_small"),
        ({"amount": 49, "currency": "jpy"}, "amount_too_small"),
        ({"amount": 0, "currency": "xof"}, "amount_too_small"),
        ({"amount": 900, "currency": "usd", "capture_method": "manual"}, "capture_method"),
        ({"amount": 900, "currency": "usd", "payment_method": "tok_visa"}, "payment_method"),
    ],
)
async def test_unusable_intents_are_refused(
    stripe_client: stripe.StripeClient, params: Any, code_or_param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payment_intents.create_async(params)
    assert code_or_param in (raised.value.code, raised.value.param)


@pytest.mark.parametrize(("amount", "currency"), [(50, "usd"), (30, "gbp"), (50, "jpy"), (1, "xof")])
async def test_the_minimum_charge_itself_is_accepted(
    stripe_client: stripe.StripeClient, amount: int, currency: str
) -> None:
    intent = await stripe_client.v1.payment_intents.create_async({"amount": amount, "currency": currency})
    assert (intent.amount, intent.currency) == (amount, currency)


async def test_search_by_metadata(stripe_client: stripe.StripeClient) -> None:
    wanted = await paid_intent(stripe_client, metadata={"order_id": "o-42"})
    await paid_intent(stripe_client, metadata={"order_id": "o-43"})

    found = await stripe_client.v1.payment_intents.search_async(
        {"query": "metadata['order_id']:'o-42' AND status:'succeeded'"}
    )

    assert [intent.id for intent in found.data] == [wanted.id]
    with pytest.raises(stripe.InvalidRequestError):
        await stripe_client.v1.payment_intents.search_async({"query": "amount>100"})


async def test_list_filters_on_created(stripe_client: stripe.StripeClient) -> None:
    intent = await paid_intent(stripe_client)

    inside = await stripe_client.v1.payment_intents.list_async(
        {"created": {"gte": intent.created, "lte": intent.created}}
    )
    after = await stripe_client.v1.payment_intents.list_async({"created": {"gt": intent.created}})

    assert [found.id for found in inside.data] == [intent.id]
    assert after.data == []
