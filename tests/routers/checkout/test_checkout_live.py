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
