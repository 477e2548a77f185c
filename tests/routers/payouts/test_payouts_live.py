"""Payouts end to end against the emulator: a sale's money paid to the seller's bank, a payout to
a failing bank account and the money back, a payout made at Stripe directly, and the balance page
when Stripe is slow."""

from __future__ import annotations

from app.auth import Role
from app.db import Collections
from app.domain.ledger import Accounts
from tests.checkout_support import SELLER_A, Marketplace
from tests.payouts_support import (
    MUG_NET,
    NO_SUCH_BANK,
    get_json,
    request_payout,
    sell_and_settle,
    seller_with_bank,
)


async def test_a_sale_is_paid_out_to_the_sellers_bank_and_the_history_shows_it_paid(
    market: Marketplace,
) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    balance = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A)
    assert (balance["available"], balance["pending"], balance["in_escrow"], balance["pending_transfer"]) == (
        MUG_NET,
        0,
        0,
        0,
    )
    assert balance["stripe_balance_stale"] is False

    answer = await request_payout(market, SELLER_A, key="payout-1")
    assert answer.status_code == 201, answer.text
    payout = answer.json()
    assert (payout["amount"], payout["currency"], payout["status"]) == (MUG_NET, "usd", "pending")
    assert payout["stripe_payout_id"].startswith("po_")
    assert payout["arrival_date"]
    assert (await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A))["in_transit"] == MUG_NET

    await market.emulator.control_async(f"payouts/{payout['stripe_payout_id']}/pay")
    await market.pump()

    history = await get_json(market, "/payouts", SELLER_A, seller_id=SELLER_A)
    assert [(p["payout_id"], p["status"]) for p in history["data"]] == [(payout["payout_id"], "paid")]
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == 0
    assert await market.services.ledger.balance(Accounts.BANK, "usd") == MUG_NET
    balance = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A)
    assert (balance["available"], balance["in_transit"]) == (0, 0)
    audited = market.database[Collections.AUDIT_PENDING].find({"object.id": payout["payout_id"]})
    assert [record["after"]["status"] async for record in audited] == ["requested", "pending", "paid"]
    await market.assert_invariants()


async def test_a_payout_to_a_failing_bank_account_shows_why_and_the_money_is_back(
    market: Marketplace,
) -> None:
    await seller_with_bank(market, SELLER_A, NO_SUCH_BANK)
    await sell_and_settle(market, "buyer", key="sale-1")

    payout = (await request_payout(market, SELLER_A, key="payout-1")).json()
    await market.pump()

    failed = await get_json(market, f"/payouts/{payout['payout_id']}", SELLER_A)
    assert (failed["status"], failed["failure_code"]) == ("failed", "no_account")
    assert "No bank account could be located" in failed["failure_reason"]
    balance = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A)
    assert (balance["available"], balance["in_transit"]) == (MUG_NET, 0)
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == MUG_NET  # it never left
    await market.assert_invariants()


async def test_a_payout_made_at_stripe_directly_appears_in_the_history_once(market: Marketplace) -> None:
    account = await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")

    made = await market.emulator.stripe_client().v1.payouts.create_async(
        {"amount": 1000, "currency": "usd"}, {"stripe_account": account}
    )
    await market.pump()
    for event in (await market.emulator.inspect_async("events", type="payout.created"))["data"]:
        await market.deliver(event)  # again
    await market.services.webhook_processor.process_due(limit=100)
    await market.emulator.control_async(f"payouts/{made.id}/pay")
    await market.pump()

    history = (await get_json(market, "/payouts", SELLER_A, seller_id=SELLER_A))["data"]
    assert [(p["stripe_payout_id"], p["origin"], p["amount"], p["status"]) for p in history] == [
        (made.id, "stripe", 1000, "paid")
    ]
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == MUG_NET - 1000
    await market.assert_invariants()


async def test_a_slow_stripe_answers_the_last_known_balance_with_its_age(market: Marketplace) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    known = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A, Role.SELLER)

    await market.emulator.control_async(
        "faults", path_prefix="/v1/balance", method="GET", count=1, delay_seconds=3
    )
    slow = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A, Role.SELLER)

    assert slow["stripe_balance_stale"] is True
    assert (slow["available"], slow["stripe_balance_as_of"]) == (
        known["available"],
        known["stripe_balance_as_of"],
    )
    assert slow["stripe_balance_age_seconds"] >= 0
