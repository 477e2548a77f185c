"""How an order is paid: the wallet first (legacy money, then platform money), the card the rest;
a declined card or an abandoned order gives the wallet parts back to where they came from."""

from __future__ import annotations

from datetime import timedelta

from app.db import Collections
from app.domain.ledger import Accounts
from app.services.checkout import run_order_expiry
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace


async def test_a_wallet_only_order_is_paid_at_once_and_its_seller_paid_on_delivery(
    market: Marketplace,
) -> None:
    account_a = await market.seller_account(SELLER_A)
    await market.top_up("buyer-w", 5000)
    opened = await market.checkout("buyer-w", [("prod_mug", 2)], key="w-1", use_wallet=True)
    assert opened.status_code == 201, opened.text
    order = opened.json()
    assert (order["status"], order["amount_due"], order["payment_intent_id"]) == ("paid", 0, None)
    assert order["funding"] == {"legacy": 0, "wallet": 3600, "card": 0}
    assert [e["status"] for e in order["escrows"]] == ["held"]
    assert await market.balance(Accounts.buyer_wallet("buyer-w")) == 1400
    await market.settle()  # the top-up's money available at Stripe: the balance part can leave

    confirmed = await market.confirm_delivery("buyer-w", order["order_id"], key="w-d")
    assert confirmed.json()["escrows"][0]["status"] == "transferred"
    (transfer,) = (await market.emulator.stripe_client().v1.transfers.list_async()).data
    assert (transfer.amount, transfer.destination, transfer.source_transaction) == (3240, account_a, None)
    await market.assert_invariants()


async def test_legacy_then_wallet_then_card_pay_an_order_split_exactly_over_its_escrows(
    market: Marketplace,
) -> None:
    await market.legacy_balance("buyer-m", "20.00")
    await market.top_up("buyer-m", 3000)
    opened = await market.checkout(
        "buyer-m", [("prod_mug", 1), ("prod_board", 1)], key="m-1", use_wallet=True
    )
    order = opened.json()
    assert order["funding"] == {"legacy": 2000, "wallet": 3000, "card": 1800 + 6999 - 5000}
    assert order["amount_due"] == 3799
    escrows = (
        await market.database[Collections.ESCROWS]
        .find({"order_id": order["order_id"]})
        .sort("seller_id")
        .to_list()
    )
    assert [(e["seller_id"], e["funding"]) for e in escrows] == [
        (SELLER_A, {"legacy": 1800, "wallet": 0, "card": 0}),
        (SELLER_B, {"legacy": 200, "wallet": 3000, "card": 3799}),
    ]
    assert await market.balance(Accounts.RESERVE_FUNDING) == 2000

    assert (await market.pay_by_card(order)).status_code == 200
    await market.pump()
    assert await market.balance(Accounts.escrow(order["order_id"], SELLER_B)) == 6999
    paid = await market.client.get(f"/orders/{order['order_id']}", headers=market.headers("buyer-m"))
    assert (paid.json()["status"], paid.json()["amount_due"]) == ("paid", 0)
    await market.assert_invariants()


async def test_a_declined_card_cancels_the_order_and_gives_the_wallet_parts_back(market: Marketplace) -> None:
    await market.legacy_balance("buyer-d", "10.00")
    await market.top_up("buyer-d", 1000)
    order = (await market.checkout("buyer-d", [("prod_board", 1)], key="d-1", use_wallet=True)).json()
    assert order["funding"] == {"legacy": 1000, "wallet": 1000, "card": 4999}

    await market.pay_by_card(order, "pm_card_chargeDeclined")
    await market.pump()

    canceled = (
        await market.client.get(f"/orders/{order['order_id']}", headers=market.headers("buyer-d"))
    ).json()
    assert canceled["status"] == "canceled"
    assert [e["status"] for e in canceled["escrows"]] == ["canceled"]
    assert await market.balance(Accounts.buyer_legacy("buyer-d")) == 1000
    assert await market.balance(Accounts.buyer_wallet("buyer-d")) == 1000
    assert await market.balance(Accounts.RESERVE_FUNDING) == 0
    intent = await market.emulator.stripe_client().v1.payment_intents.retrieve_async(
        order["payment_intent_id"]
    )
    assert intent.status == "canceled"
    await market.assert_invariants()


async def test_an_abandoned_order_expires_and_gives_the_wallet_parts_back(market: Marketplace) -> None:
    await market.top_up("buyer-x", 1000)
    order = (await market.checkout("buyer-x", [("prod_mug", 1)], key="x-1", use_wallet=True)).json()
    assert order["amount_due"] == 800

    assert await run_order_expiry(market.database, market.services.checkout, timedelta(hours=1)) == {}
    outcomes = await run_order_expiry(market.database, market.services.checkout, timedelta(0))
    assert outcomes == {"canceled": 1}
    assert await run_order_expiry(market.database, market.services.checkout, timedelta(0)) == {}
    await market.pump()  # payment_intent.canceled arrives after: nothing more happens

    assert await market.balance(Accounts.buyer_wallet("buyer-x")) == 1000
    stored = await market.services.checkout.get(order["order_id"])
    assert stored is not None
    assert (stored.status, stored.cancel_reason) == ("canceled", "expired")
    assert await market.database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "refund"}) == 1
    await market.assert_invariants()
