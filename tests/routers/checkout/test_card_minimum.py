"""Stripe's minimum charge (50 cents in USD): the wallet leaves the card either nothing or at least
the minimum, and an order no split can pay is refused before any money moves or Stripe is called."""

from __future__ import annotations

from app.db import Collections
from app.domain.ledger import Accounts
from tests.checkout_support import SELLER_A, Marketplace

# A product under the minimum charge on its own.
STICKER = ("prod_sticker", 30)


async def add_sticker(market: Marketplace) -> None:
    product_id, price = STICKER
    await market.database["products"].insert_one(
        {
            "_id": product_id,
            "seller_id": SELLER_A,
            "title": "Sticker",
            "price": {"amount": price, "currency": "usd"},
            "active": True,
        }
    )


async def intents_asked_for(market: Marketplace) -> int:
    """The PaymentIntents the service recorded before asking Stripe for them, refused ones too."""
    return await market.database[Collections.PAYMENT_OPERATIONS].count_documents({})


async def test_the_wallet_leaves_the_card_exactly_the_minimum_rather_than_less(market: Marketplace) -> None:
    await market.top_up("buyer-c", 1780)  # the mug is 1800: all of it would leave 20 cents
    opened = await market.checkout("buyer-c", [("prod_mug", 1)], key="c-1", use_wallet=True)
    assert opened.status_code == 201, opened.text
    order = opened.json()
    assert order["funding"] == {"legacy": 0, "wallet": 1750, "card": 50}
    assert order["amount_due"] == 50
    assert await market.balance(Accounts.buyer_wallet("buyer-c")) == 30

    assert (await market.pay_by_card(order)).status_code == 200
    await market.pump()
    assert await market.balance(Accounts.escrow(order["order_id"], SELLER_A)) == 1800
    await market.assert_invariants()


async def test_legacy_money_is_held_back_the_same_way(market: Marketplace) -> None:
    await market.legacy_balance("buyer-l", "17.99")
    order = (await market.checkout("buyer-l", [("prod_mug", 1)], key="l-1", use_wallet=True)).json()
    assert order["funding"] == {"legacy": 1750, "wallet": 0, "card": 50}
    assert await market.balance(Accounts.buyer_legacy("buyer-l")) == 49
    assert (await market.pay_by_card(order)).status_code == 200
    await market.pump()
    await market.assert_invariants()


async def test_an_order_under_the_minimum_the_wallet_cannot_cover_is_refused_before_anything_moves(
    market: Marketplace,
) -> None:
    await add_sticker(market)
    await market.top_up("buyer-s", 500)
    spent = await market.checkout("buyer-s", [("prod_sticker", 16)], key="s-0", use_wallet=True)
    assert spent.json()["funding"] == {"legacy": 0, "wallet": 480, "card": 0}
    before = await market.database[Collections.JOURNAL_ENTRIES].count_documents({})
    intents = await intents_asked_for(market)

    by_card = await market.checkout("buyer-s", [("prod_sticker", 1)], key="s-1")
    partly = await market.checkout("buyer-s", [("prod_sticker", 1)], key="s-2", use_wallet=True)

    for answer in (by_card, partly):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert (problem["code"], problem["minimum"], problem["currency"]) == (
            "card_amount_below_minimum",
            50,
            "usd",
        )
    assert await market.balance(Accounts.buyer_wallet("buyer-s")) == 20
    assert await market.database[Collections.JOURNAL_ENTRIES].count_documents({}) == before
    assert await market.database[Collections.ORDERS].count_documents({}) == 1
    assert await intents_asked_for(market) == intents
    await market.assert_invariants()


async def test_an_order_under_the_minimum_the_wallet_covers_is_paid_by_the_wallet(
    market: Marketplace,
) -> None:
    await add_sticker(market)
    await market.top_up("buyer-t", 500)
    intents = await intents_asked_for(market)
    opened = await market.checkout("buyer-t", [("prod_sticker", 1)], key="t-1", use_wallet=True)
    assert opened.status_code == 201, opened.text
    order = opened.json()
    assert (order["status"], order["funding"]) == ("paid", {"legacy": 0, "wallet": 30, "card": 0})
    assert await intents_asked_for(market) == intents
    await market.assert_invariants()
