"""Chargebacks (Stripe disputes of an order's charge), handled where the money is: an escrow still
holding it is frozen and pays; money already transferred is reversed from the seller, or becomes
their debt, taken from their next release; won puts the money back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.auth import Role
from app.db import Collections
from app.domain.ledger import Accounts
from app.domain.reconciliation import Window
from app.services.reconciliation import reconcile_window
from tests.checkout_support import SELLER_B, Marketplace
from tests.routers.disputes.support import ADMIN, escrow_of, paid_order


async def chargeback_of(market: Marketplace, order_id: str) -> dict[str, Any]:
    document = await market.database[Collections.DISPUTES].find_one(
        {"order_id": order_id, "kind": "chargeback"}
    )
    assert document is not None
    return document


async def dispute_at_stripe(market: Marketplace, charge_id: str) -> Any:
    disputes = (await market.emulator.stripe_client().v1.disputes.list_async({"limit": 100})).data
    (dispute,) = [d for d in disputes if d.charge == charge_id]
    return dispute


async def test_a_chargeback_before_release_freezes_the_escrow_and_takes_it_then_lost(
    market: Marketplace,
) -> None:
    order = await paid_order(
        market, "buyer-c", [("prod_tea", 1)], key="c-1", payment_method="pm_card_createDispute"
    )
    order_id = order["order_id"]
    await market.pump()

    chargeback = await chargeback_of(market, order_id)
    assert (chargeback["status"], chargeback["open"], chargeback["amount"]) == ("needs_response", True, 1299)
    assert chargeback["funding"] == {"legacy": 0, "wallet": 0, "card": 1299}
    escrow = await escrow_of(market, order_id, SELLER_B)
    assert (escrow["status"], escrow["refunded"]["card"]) == ("disputed", 1299)
    assert await market.balance(Accounts.escrow(order_id, SELLER_B)) == 0
    refused = await market.confirm_delivery("buyer-c", order_id, key="c-d")
    assert refused.json()["code"] == "escrow_disputed"
    hold = await market.services.dispute_holds.hold_of(SELLER_B)
    assert (hold.open_disputes, hold.amounts) == (1, {"usd": 1299})
    notes = await market.client.get("/admin/notifications", headers=market.headers(ADMIN, Role.ADMIN))
    assert [n["kind"] for n in notes.json()["data"]] == ["chargeback.opened"]
    listed = await market.client.get(
        "/admin/disputes?kind=chargeback", headers=market.headers(ADMIN, Role.SUPPORT)
    )
    assert [d["transferred"] for d in listed.json()["data"]] == [False]
    await market.assert_invariants()  # the 1500 dispute fee included

    stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
    await market.emulator.control_async(f"disputes/{stripe_dispute.id}/lose")
    await market.pump()
    chargeback = await chargeback_of(market, order_id)
    assert (chargeback["status"], chargeback["open"]) == ("lost", False)
    assert (await escrow_of(market, order_id, SELLER_B))["status"] == "refunded"
    assert not (await market.services.dispute_holds.hold_of(SELLER_B)).blocked
    await market.assert_invariants()


async def test_a_chargeback_won_before_release_puts_the_card_money_back_and_the_escrow_can_be_released(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    await market.top_up("buyer-w", 1000)
    order = await paid_order(
        market,
        "buyer-w",
        [("prod_tea", 1)],
        key="w-1",
        use_wallet=True,
        payment_method="pm_card_createDispute",
    )
    order_id = order["order_id"]
    await market.pump()
    escrow = await escrow_of(market, order_id, SELLER_B)
    assert (escrow["status"], escrow["refunded"], escrow["net"]) == (
        "disputed",
        {"legacy": 0, "wallet": 0, "card": 299},
        900,  # what is kept (1000) less its fee
    )

    stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
    chargeback_id = (await chargeback_of(market, order_id))["_id"]
    submitted = await market.client.post(
        f"/admin/disputes/{chargeback_id}/submit-evidence",
        json={"product_description": "A tin of tea", "shipping_tracking_number": "1Z999"},
        headers=market.headers(ADMIN, Role.ADMIN, key="e-1"),
    )
    assert (submitted.status_code, submitted.json()["status"]) == (200, "under_review"), submitted.text
    await market.emulator.control_async(f"disputes/{stripe_dispute.id}/win")
    await market.pump()

    chargeback = await chargeback_of(market, order_id)
    assert (chargeback["status"], chargeback["open"]) == ("won", False)
    escrow = await escrow_of(market, order_id, SELLER_B)
    assert (escrow["status"], escrow["refunded"], escrow["net"]) == (
        "held",
        {"legacy": 0, "wallet": 0, "card": 0},
        1169,
    )
    await market.settle()
    released = await market.confirm_delivery("buyer-w", order_id, key="w-d")
    assert released.json()["escrows"][0]["status"] == "transferred"
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async()).data
    assert sum(t.amount for t in transfers if t.destination == account) == 1169
    await market.assert_invariants()


async def test_a_chargeback_won_reconciles_its_fee_and_the_fee_given_back(market: Marketplace) -> None:
    """Stripe withdraws a dispute fee and gives it back when the chargeback is won: both are
    booked, and the reconciliation's fee check matches each with its balance transaction."""
    order = await paid_order(market, "buyer-f", [("prod_tea", 1)], key="f-1")
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
    await market.pump()
    stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
    await market.emulator.control_async(f"disputes/{stripe_dispute.id}/win")
    await market.settle()  # the charge's balance transaction, with its card fee
    fees = market.database[Collections.JOURNAL_ENTRIES].find({"kind": "stripe_fee"})
    moves = [(move["from"], move["amount"]) async for entry in fees for move in entry["moves"]]
    assert len(moves) == 3  # the card fee, the dispute fee, the dispute fee given back
    assert sorted(move for move in moves if move[1] == 1500) == [
        (Accounts.PLATFORM_FEES, 1500),
        (Accounts.STRIPE_FEES, 1500),
    ]

    day = Window(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    run = await reconcile_window(market.database, market.services.reconciliation, day)

    assert run.counts["stripe_fees"].differences == 0
    assert run.counts["stripe_fees"].our_records == 3
    await market.assert_invariants()


async def test_a_chargeback_after_transfer_reverses_the_sellers_share(market: Marketplace) -> None:
    await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-t", [("prod_tea", 1)], key="t-1")
    confirmed = await market.confirm_delivery("buyer-t", order["order_id"], key="t-d")
    assert confirmed.json()["escrows"][0]["status"] == "transferred"
    escrow = await escrow_of(market, order["order_id"], SELLER_B)

    await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
    await market.pump()

    chargeback = await chargeback_of(market, order["order_id"])
    assert chargeback["shares"] == [
        {"escrow_id": escrow["_id"], "seller_id": SELLER_B, "amount": 1169, "transferred": True}
    ]
    (transfer,) = (await market.emulator.stripe_client().v1.transfers.list_async()).data
    assert transfer.amount_reversed == 1169
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == 0
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 0
    await market.assert_invariants()


async def test_a_chargeback_after_transfer_with_the_sellers_balance_short_is_a_debt_taken_from_the_next_release(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-s", [("prod_tea", 1)], key="s-1")
    await market.confirm_delivery("buyer-s", order["order_id"], key="s-d")
    await market.settle()
    stripe = market.emulator.stripe_client()
    await stripe.v1.payouts.create_async({"amount": 1169, "currency": "usd"}, {"stripe_account": account})
    escrow = await escrow_of(market, order["order_id"], SELLER_B)

    await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
    await market.pump()

    recovery = await market.database[Collections.SELLER_RECOVERIES].find_one({"seller_id": SELLER_B})
    assert recovery is not None
    assert (recovery["status"], recovery["debt"]) == ("debt", 1169)
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 1169
    await market.assert_invariants()

    later = await paid_order(market, "buyer-s", [("prod_board", 1)], key="s-2")
    released = await market.confirm_delivery("buyer-s", later["order_id"], key="s-d2")
    assert released.json()["escrows"][0]["status"] == "transferred"
    transfers = (await stripe.v1.transfers.list_async()).data
    newest = [t for t in transfers if t.transfer_group == later["order_id"]]
    assert sum(t.amount for t in newest) == 6999 - 700 - 1169
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 0
    entry = await market.database[Collections.JOURNAL_ENTRIES].find_one(
        {"kind": "escrow_release", "refs.order": later["order_id"]}
    )
    assert entry is not None
    assert entry["refs"]["debt_recovered"] == "1169"
    await market.assert_invariants()
