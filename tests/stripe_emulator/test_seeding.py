"""Seeding many paid PaymentIntents at once: stored as after real payments, listed and paged as
Stripe lists them, counted in the balance, and no event sent."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.testing import EmulatorControlError, EmulatorServer


async def test_seeded_payments_are_listed_newest_first_and_in_the_balance(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seeded = (
        await emulator.control_async(
            "seed/payment_intents", count=250, amount=10_000, metadata={"purpose": "wallet_topup"}
        )
    )["seeded"]

    first = await stripe_client.v1.payment_intents.list_async({"limit": 100})
    intents = [intent async for intent in first.auto_paging_iter()]
    txn_page = await stripe_client.v1.balance_transactions.list_async({"limit": 100})
    transactions = [txn async for txn in txn_page.auto_paging_iter()]
    balance = await stripe_client.v1.balance.retrieve_async()

    assert [intent.id for intent in intents] == [row["payment_intent"] for row in reversed(seeded)]
    assert {intent.status for intent in intents} == {"succeeded"}
    assert intents[0].metadata.to_dict() == {"purpose": "wallet_topup"}
    assert intents[0].latest_charge == seeded[-1]["charge"]
    assert [txn.id for txn in transactions] == [row["balance_transaction"] for row in reversed(seeded)]
    assert {(txn.amount, txn.fee, txn.type) for txn in transactions} == {(10_000, 320, "charge")}
    assert transactions[0].source == seeded[-1]["charge"]
    assert balance.pending[0].amount == 250 * (10_000 - 320)
    assert emulator.events() == []


async def test_a_page_starts_at_its_cursor_among_seeded_objects(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seeded = (await emulator.control_async("seed/payment_intents", count=30))["seeded"]
    newest_first = [row["payment_intent"] for row in reversed(seeded)]

    older = await stripe_client.v1.payment_intents.list_async({"limit": 5, "starting_after": newest_first[9]})
    newer = await stripe_client.v1.payment_intents.list_async({"limit": 5, "ending_before": newest_first[9]})
    created = seeded[0]["created"]
    window = await stripe_client.v1.payment_intents.list_async(
        {"limit": 100, "created": {"gte": created, "lt": created + 86_400}}
    )

    assert [intent.id for intent in older.data] == newest_first[10:15]
    assert older.has_more is True
    assert [intent.id for intent in newer.data] == newest_first[4:9]
    assert newer.has_more is True
    assert len(window.data) == 30


@pytest.mark.parametrize("body", [{"count": 0}, {"count": 10_001}, {"amount": 0}, {"metadata": {"a": 1}}])
async def test_a_seeding_outside_its_bounds_is_refused(
    emulator: EmulatorServer, body: dict[str, object]
) -> None:
    with pytest.raises(EmulatorControlError) as refused:
        await emulator.control_async("seed/payment_intents", **body)

    assert refused.value.status == 400
