"""Checkout end to end against the emulator: a card pays two sellers' escrows, the buyer confirms
one, its seller is paid by one transfer from the charge, the other is auto-released later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.services.checkout import EscrowReleases
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace


async def test_a_card_order_for_two_sellers_is_held_then_released_one_seller_at_a_time(
    market: Marketplace,
) -> None:
    account_a = await market.seller_account(SELLER_A)
    account_b = await market.seller_account(SELLER_B)
    opened = await market.checkout("buyer-1", [("prod_mug", 2), ("prod_board", 1)], key="order-1")
    assert opened.status_code == 201, opened.text
    order = opened.json()
    assert (order["status"], order["amount_due"], order["total"]) == ("awaiting_payment", 3600 + 6999, 10599)
    assert [e["status"] for e in order["escrows"]] == ["awaiting_funds", "awaiting_funds"]

    assert (await market.pay_by_card(order)).status_code == 200
    await market.pump()
    await market.pump()  # the same events again change nothing
    paid = (await market.client.get(f"/orders/{order['order_id']}", headers=market.headers("buyer-1"))).json()
    assert paid["status"] == "paid"
    assert [(e["seller_id"], e["status"]) for e in paid["escrows"]] == [
        (SELLER_A, "held"),
        (SELLER_B, "held"),
    ]

    confirmed = await market.confirm_delivery(
        "buyer-1", order["order_id"], key="deliver-1", seller_id=SELLER_A
    )
    assert confirmed.status_code == 200, confirmed.text
    escrow_a = confirmed.json()["escrows"][0]
    assert escrow_a["status"] == "transferred"
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 10})).data
    assert len(transfers) == 1
    transfer = transfers[0]
    charge = (
        await market.emulator.stripe_client().v1.payment_intents.retrieve_async(order["payment_intent_id"])
    ).latest_charge
    assert (transfer.amount, transfer.destination, transfer.transfer_group) == (
        3600 - 360,
        account_a,
        order["order_id"],
    )
    assert transfer.source_transaction == charge
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == 3240
    after = (
        await market.client.get(f"/orders/{order['order_id']}", headers=market.headers("buyer-1"))
    ).json()
    assert [e["status"] for e in after["escrows"]] == ["transferred", "held"]

    later = datetime.now(UTC) + timedelta(days=market.settings.escrow_auto_release_days, minutes=1)
    releases = EscrowReleases(
        market.database,
        market.services.ledger,
        market.services.audit_log,
        market.services.seller_transfers,
        market.services.seller_debts,
        timedelta(days=market.settings.escrow_auto_release_days),
        clock=lambda: later,
    )
    outcomes = await releases.release_due(Actor.job("test"))
    assert outcomes == {"transferred": 1}
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 10})).data
    assert sorted((t.destination, t.amount) for t in transfers) == sorted(
        [(account_a, 3240), (account_b, 6999 - 700)]
    )
    await market.assert_invariants()


async def test_no_connected_account_is_charged_and_no_destination_charge_is_made(market: Marketplace) -> None:
    accounts = [await market.seller_account(SELLER_A), await market.seller_account(SELLER_B)]
    await market.top_up("buyer-2", 2000)
    order = (
        await market.checkout("buyer-2", [("prod_mug", 1), ("prod_tea", 1)], key="o-2", use_wallet=True)
    ).json()
    await market.pay_by_card(order)
    await market.pump()
    await market.settle()
    await market.confirm_delivery("buyer-2", order["order_id"], key="d-2")

    stripe = market.emulator.stripe_client()
    intents = (await stripe.v1.payment_intents.list_async({"limit": 100})).data
    assert len(intents) == 2  # the top-up and the order, both on the platform
    for intent in intents:
        assert (intent.on_behalf_of, intent.transfer_data, intent.application_fee_amount) == (
            None,
            None,
            None,
        )
    checkout_intent = next(intent for intent in intents if intent.id == order["payment_intent_id"])
    assert checkout_intent.transfer_group == order["order_id"]
    for account in accounts:
        on_seller = await stripe.v1.payment_intents.list_async(options={"stripe_account": account})
        charges = await stripe.v1.charges.list_async(options={"stripe_account": account})
        assert on_seller.data == []
        # What a transfer leaves on the seller's account is a `py_` payment from it, not a charge.
        assert all(charge.id.startswith("py_") and charge.source_transfer for charge in charges.data)
    await market.assert_invariants()
