"""The payouts' guard, answered by disputes: a buyer's dispute on one order of a seller blocks
that seller's payouts until it is resolved; what a seller owes after a chargeback is not paid out."""

from __future__ import annotations

from tests.checkout_support import SELLER_A, Marketplace
from tests.payouts_support import MUG_NET, get_json, request_payout, sell_and_settle, seller_with_bank
from tests.routers.disputes.support import open_dispute, paid_order, resolve


async def test_an_open_dispute_on_another_order_blocks_the_sellers_payouts_until_resolved(
    market: Marketplace,
) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer-p", key="sale-1")
    held = await paid_order(market, "buyer-p", [("prod_mug", 1)], key="sale-2")
    dispute = (await open_dispute(market, "buyer-p", held["order_id"], SELLER_A, key="p-d")).json()

    blocked = await request_payout(market, SELLER_A, key="p-1", amount=500)
    assert blocked.status_code == 409, blocked.text
    problem = blocked.json()
    assert (problem["code"], problem["open_disputes"], problem["disputed_amount"]) == (
        "payouts_blocked_by_dispute",
        1,
        1800,
    )
    balance = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A)
    assert (balance["held_for_disputes"], balance["open_disputes"], balance["owed_to_platform"]) == (
        1800,
        1,
        0,
    )

    await resolve(market, dispute["dispute_id"], key="p-r", outcome="refund_buyer")
    paid = await request_payout(market, SELLER_A, key="p-2")
    assert (paid.status_code, paid.json()["amount"]) == (201, MUG_NET), paid.text
    await market.assert_invariants()
