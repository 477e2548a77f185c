"""Reconciliation after a day of the marketplace (checkouts, transfers, a refund, a paid seller's
dispute refunded and reversed, a chargeback won, a payout): nothing found. Then one fault of each
kind the checkouts, transfers, reversals, refunds, chargebacks and payouts checks look for, seeded
together: each found once, with its kind, and none again by a later run; the drift each one
makes of the platform's balance is explained by its own discrepancy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.db import Collections
from app.domain.checkout import card_entry_key
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.reconciliation import DiscrepancyStatus, RunStatus
from app.services.reconciliation import ReconciliationRun
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace
from tests.routers.disputes.support import refund_order, stripe_refunds
from tests.services.reconciliation.support import MarketDay, discrepancies, reconcile

# What the day makes on each side, per check: (Stripe objects, our records).
DAY_COUNTS = {
    # The card, mixed, disputed and charged-back orders' PaymentIntents (the wallet order has none).
    "checkouts": (4, 4),
    # Mug and board of the card order, the wallet order's tea (from the balance), the disputed tea.
    "transfers": (4, 4),
    "transfer_reversals": (1, 1),
    # The mixed order's partial refund and the disputed order's.
    "refunds": (2, 2),
    # The chargeback's withdrawal and its reinstatement.
    "disputes": (2, 2),
}


async def test_a_marketplace_day_reconciles_with_nothing_found(
    market: Marketplace, market_day: MarketDay
) -> None:
    run = await reconcile(market.services)

    assert run.status is RunStatus.SUCCEEDED
    assert (run.new_discrepancies, run.known_discrepancies) == (0, 0), await discrepancies(market.services)
    for name, (stripe_objects, ours) in DAY_COUNTS.items():
        counts = run.counts[name]
        assert (counts.stripe_objects, counts.matched, counts.differences) == (
            stripe_objects,
            stripe_objects,
            0,
        ), name
        assert counts.our_records == ours, name
    assert run.counts["payouts"].stripe_objects == run.counts["payouts"].matched == 1
    assert run.counts["balance_transactions"].differences == 0
    assert run.counts["platform_balance"].matched == 1


async def transfer_one_cent_larger(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """Stripe moved one cent more to seller A than the service asked (and booked)."""
    transfer = await _transfer_to(market, day.accounts[SELLER_A])
    stored = market.emulator.stored(transfer.id)
    stored["amount"] += 1
    sent = market.emulator.stored(stored["balance_transaction"])
    sent["amount"] -= 1
    sent["net"] -= 1
    return {"transfer": transfer.id}


async def reversal_made_at_stripe(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """Someone reversed part of seller B's transfer in Stripe's dashboard."""
    transfer = await _transfer_to(market, day.accounts[SELLER_B])
    reversal = await market.emulator.stripe_client().v1.transfers.reversals.create_async(
        transfer.id, {"amount": 100}
    )
    return {"transfer_reversal": reversal.id}


async def refund_failure_never_heard(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """A refund failed at Stripe after it accepted it, and its event never reached the service."""
    before = {refund.id for refund in await stripe_refunds(market, day.mixed_order["payment_intent_id"])}
    answer = await refund_order(
        market, day.mixed_order["order_id"], key="fault-refund", seller_id=SELLER_A, amount=300
    )
    assert answer.status_code == 201, answer.text
    [refund] = [
        r for r in await stripe_refunds(market, day.mixed_order["payment_intent_id"]) if r.id not in before
    ]
    await market.emulator.control_async(f"refunds/{refund.id}/fail")
    return {"refund": refund.id}


async def chargeback_never_heard(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """The bank disputed the card order's charge; its events never reached the service."""
    order = await market.database[Collections.ORDERS].find_one({"_id": day.card_order["order_id"]})
    assert order is not None
    dispute = await market.emulator.control_async(f"charges/{order['charge_id']}/dispute")
    return {"dispute": dispute["id"]}


async def checkout_entry_without_payment(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """An order's card payment booked for a PaymentIntent Stripe never had."""
    move = Move(Accounts.CARD, Accounts.escrow("ord_ghost", SELLER_A), 700, "usd")
    ghost = entry(
        card_entry_key("pi_ghost"), EntryKind.CHECKOUT, [move], order="ord_ghost", payment_intent="pi_ghost"
    )
    await market.services.ledger.post(ghost)
    return {"payment_intent": "pi_ghost"}


async def payout_unknown_to_us(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """A payout made from seller B's account in Stripe's dashboard; its events never arrived."""
    payout = await market.emulator.stripe_client().v1.payouts.create_async(
        {"amount": 500, "currency": "usd"}, {"stripe_account": day.accounts[SELLER_B]}
    )
    return {"payout": payout.id}


async def payout_unknown_to_stripe(market: Marketplace, day: MarketDay) -> dict[str, str]:
    """Our record of a payout names a Stripe payout that does not exist."""
    payouts = market.database[Collections.PAYOUTS]
    recorded = await payouts.find_one({"_id": day.payout["payout_id"]})
    assert recorded is not None
    now = datetime.now(UTC)
    await payouts.insert_one(
        {
            **recorded,
            "_id": "po_rec_ghost",
            "stripe_payout_id": "po_never_at_stripe",
            "list_key": f"{now:%Y-%m-%dT%H:%M:%S.%f}|po_rec_ghost",
        }
    )
    return {"payout": "po_never_at_stripe"}


async def _transfer_to(market: Marketplace, account: str) -> Any:
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 100})).data
    return next(
        t for t in reversed(transfers) if t.destination == account and "recovery_id" not in t.metadata
    )


# Each fault and the kind of the one discrepancy it gives.
FAULTS = {
    "transfer_amount_mismatch": transfer_one_cent_larger,
    "transfer_reversal_entry_missing": reversal_made_at_stripe,
    "refund_amount_mismatch": refund_failure_never_heard,
    "chargeback_entry_missing": chargeback_never_heard,
    "checkout_payment_missing": checkout_entry_without_payment,
    "payout_record_missing": payout_unknown_to_us,
    "payout_stripe_missing": payout_unknown_to_stripe,
}


async def test_each_fault_is_found_once_with_its_kind_and_not_again(
    market: Marketplace, market_day: MarketDay
) -> None:
    seeded = {kind: await seed(market, market_day) for kind, seed in FAULTS.items()}

    first = await reconcile(market.services)
    second = await reconcile(market.services)

    found = await discrepancies(market.services)
    assert sorted(d.kind for d in found) == sorted(FAULTS), [d.summary for d in found]
    for difference in found:
        stripe_ids = seeded[difference.kind]
        assert {name: difference.stripe_ids.get(name) for name in stripe_ids} == stripe_ids, difference
        assert difference.status is DiscrepancyStatus.OPEN
        assert (difference.first_run_id, difference.times_found) == (first.id, 2)
    assert _recorded(first) == (len(FAULTS), 0)
    assert _recorded(second) == (0, len(FAULTS))
    by_kind = {d.kind: d for d in found}
    assert (by_kind["transfer_amount_mismatch"].expected, by_kind["transfer_amount_mismatch"].actual) == (
        1_620,
        1_621,
    )
    assert (by_kind["refund_amount_mismatch"].expected, by_kind["refund_amount_mismatch"].actual) == (300, 0)
    assert by_kind["chargeback_entry_missing"].actual == -(1_800 + 6_999) - 1_500


def _recorded(run: ReconciliationRun) -> tuple[int, int]:
    return run.new_discrepancies, run.known_discrepancies
