"""A buyer's dispute of a seller paid already, resolved by a refund: the platform refunds the buyer
by source from its own money and takes the seller's share back as a chargeback after payment does
(their transfer reversed, or their debt when their balance is short). And a chargeback won after
the seller's transfer was reversed: what was taken is paid back to them by a new transfer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.auth import Role
from app.db import Collections
from app.domain.audit import Actor
from app.domain.disputes import recovery_id_for
from app.domain.ledger import Accounts
from app.services.audit import AuditFilter
from app.services.disputes import run_recoveries
from tests.checkout_support import SELLER_B, Marketplace
from tests.routers.disputes.support import (
    ADMIN,
    escrow_of,
    open_dispute,
    paid_order,
    resolve,
    stripe_refunds,
)
from tests.routers.disputes.test_chargebacks import chargeback_of, dispute_at_stripe


async def audited_actions(market: Marketplace, object_type: str, object_id: str) -> list[str]:
    await market.services.audit_sealer.seal_pending()
    page = await market.services.audit_log.page(
        AuditFilter(object_type=object_type, object_id=object_id), 100, None
    )
    return sorted(record.action for record in page.data)


async def transfers_to(market: Marketplace, account: str) -> list[Any]:
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 100})).data
    return [transfer for transfer in transfers if transfer.destination == account]


async def recovery_of(market: Marketplace, dispute_id: str) -> dict[str, Any]:
    document = await market.database[Collections.SELLER_RECOVERIES].find_one(
        {"_id": recovery_id_for(dispute_id, SELLER_B)}
    )
    assert document is not None
    return document


async def test_refund_buyer_of_a_paid_seller_refunds_every_source_from_the_platform_and_reverses_the_transfer(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    await market.legacy_balance("buyer-p", "20.00")
    await market.top_up("buyer-p", 3000)
    order = await paid_order(market, "buyer-p", [("prod_board", 1)], key="p-1", use_wallet=True)
    order_id = order["order_id"]
    # The legacy part is paid out of the platform's available balance (the reserve owes it back).
    await market.top_up("buyer-other", 5000)
    await market.settle()
    confirmed = await market.confirm_delivery("buyer-p", order_id, key="p-d")
    assert confirmed.json()["escrows"][0]["status"] == "transferred", confirmed.text
    assert (await escrow_of(market, order_id, SELLER_B))["funding"] == {
        "legacy": 2000,
        "wallet": 3000,
        "card": 1999,
    }
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == 6999 - 700
    reserve = await market.balance(Accounts.RESERVE_FUNDING)
    platform = await market.balance(Accounts.PLATFORM_FEES)

    opened = await open_dispute(market, "buyer-p", order_id, SELLER_B, key="p-o")
    assert (opened.json()["transferred"], opened.json()["amount"]) == (True, 6299)
    dispute_id = opened.json()["dispute_id"]
    resolved = await resolve(market, dispute_id, key="p-r", outcome="refund_buyer")
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["open"]) == ("resolved_refund", False)

    escrow = await escrow_of(market, order_id, SELLER_B)
    assert (escrow["status"], escrow["refunded"]) == (
        "refunded",
        {"legacy": 2000, "wallet": 3000, "card": 1999},
    )
    assert await market.balance(Accounts.buyer_legacy("buyer-p")) == 2000
    assert await market.balance(Accounts.buyer_wallet("buyer-p")) == 3000
    assert await market.balance(Accounts.RESERVE_FUNDING) == reserve - 2000  # the reserve adjustment
    (refund,) = await stripe_refunds(market, order["payment_intent_id"])
    assert refund.amount == 1999
    ours = await market.database[Collections.REFUNDS].find_one({"_id": resolved.json()["refund_id"]})
    assert ours is not None
    assert ours["source_account"] == Accounts.PLATFORM_FEES
    # The seller gives back all they were paid (their transfers reversed), the platform its fee.
    reversed_total = sum(t.amount_reversed for t in await transfers_to(market, account))
    assert reversed_total == 6299
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == 0
    assert await market.balance(Accounts.PLATFORM_FEES) == platform - 700
    recovery = await recovery_of(market, dispute_id)
    assert (recovery["status"], recovery["amount"], recovery["recovered"]) == ("recovered", 6299, 6299)
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 0
    assert not (await market.services.dispute_holds.hold_of(SELLER_B)).blocked
    assert await audited_actions(market, "seller_recovery", recovery["_id"]) == [
        "seller_recovery.reversed",  # the card part's transfer
        "seller_recovery.reversed",  # the balance part's
        "seller_recovery.started",
    ]
    assert "dispute.status_changed" in await audited_actions(market, "dispute", dispute_id)
    await market.emulator.control_async(f"refunds/{refund.id}/succeed")
    await market.pump()
    ours = await market.database[Collections.REFUNDS].find_one({"_id": resolved.json()["refund_id"]})
    assert ours is not None
    assert ours["status"] == "succeeded"
    await market.assert_invariants()

    other = await resolve(market, dispute_id, key="p-r2", outcome="split", refund_amount=10)
    assert (other.status_code, other.json()["code"]) == (409, "dispute_not_open"), other.text
    retried = await resolve(market, dispute_id, key="p-r3", outcome="refund_buyer")
    assert (retried.status_code, retried.json()["status"]) == (200, "resolved_refund"), retried.text
    assert len(await stripe_refunds(market, order["payment_intent_id"])) == 1
    late = await open_dispute(market, "buyer-p", order_id, SELLER_B, key="p-o2")
    assert (late.status_code, late.json()["code"]) == (409, "escrow_not_refundable")
    await market.assert_invariants()


async def test_split_of_a_paid_seller_whose_balance_is_short_is_a_debt_taken_from_the_next_release(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-q", [("prod_board", 1)], key="q-1")
    await market.confirm_delivery("buyer-q", order["order_id"], key="q-d")
    await market.settle()
    stripe = market.emulator.stripe_client()
    await stripe.v1.payouts.create_async({"amount": 6299, "currency": "usd"}, {"stripe_account": account})
    platform = await market.balance(Accounts.PLATFORM_FEES)

    dispute = (await open_dispute(market, "buyer-q", order["order_id"], SELLER_B, key="q-o")).json()
    resolved = await resolve(market, dispute["dispute_id"], key="q-r", outcome="split", refund_amount=3333)
    assert (resolved.status_code, resolved.json()["status"]) == (200, "resolved_split"), resolved.text

    (refund,) = await stripe_refunds(market, order["payment_intent_id"])
    assert refund.amount == 3333
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    # 3666 kept: its fee (366.6) rounds up; exact to the cent.
    assert (escrow["status"], escrow["fee"], escrow["net"]) == ("transferred", 367, 3299)
    assert 3333 + escrow["fee"] + escrow["net"] == 6999
    recovery = await recovery_of(market, dispute["dispute_id"])
    assert (recovery["status"], recovery["amount"], recovery["debt"]) == ("debt", 6299 - 3299, 3000)
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 3000
    assert sum(t.amount_reversed for t in await transfers_to(market, account)) == 0
    # The platform refunded 3333 and gave up 700 - 367 of its fee; the seller owes the rest.
    assert await market.balance(Accounts.PLATFORM_FEES) == platform - 3333
    assert await audited_actions(market, "seller_recovery", recovery["_id"]) == [
        "seller_recovery.became_debt",
        "seller_recovery.started",
    ]
    await market.assert_invariants()

    later = await paid_order(market, "buyer-q", [("prod_board", 1)], key="q-2")
    released = await market.confirm_delivery("buyer-q", later["order_id"], key="q-d2")
    assert released.json()["escrows"][0]["status"] == "transferred"
    newest = [t for t in await transfers_to(market, account) if t.transfer_group == later["order_id"]]
    assert sum(t.amount for t in newest) == 6299 - 3000
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 0
    assert await market.balance(Accounts.PLATFORM_FEES) == platform - 3333 + 700 + 3000
    await market.assert_invariants()


async def test_a_paid_sellers_dispute_is_refunded_only_once_their_transfer_is_made(
    market: Marketplace,
) -> None:
    await market.seller_account(SELLER_B, verified=False)
    order = await paid_order(market, "buyer-n", [("prod_tea", 1)], key="n-1")
    confirmed = await market.confirm_delivery("buyer-n", order["order_id"], key="n-d")
    assert confirmed.json()["escrows"][0]["status"] == "released"  # waiting for the seller's account

    dispute = (await open_dispute(market, "buyer-n", order["order_id"], SELLER_B, key="n-o")).json()
    refused = await resolve(market, dispute["dispute_id"], key="n-r", outcome="refund_buyer")
    assert (refused.status_code, refused.json()["code"]) == (409, "escrow_not_refundable")
    assert refused.json()["escrow_status"] == "released"
    assert await stripe_refunds(market, order["payment_intent_id"]) == []
    assert await market.database[Collections.SELLER_RECOVERIES].count_documents({}) == 0
    still_open = await market.client.get(
        f"/dispute/{dispute['dispute_id']}", headers=market.headers(ADMIN, Role.ADMIN)
    )
    assert still_open.json()["status"] == "open"
    await market.assert_invariants()


async def test_a_chargeback_won_after_the_transfer_was_reversed_pays_the_seller_back(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-v", [("prod_tea", 1)], key="v-1")
    await market.confirm_delivery("buyer-v", order["order_id"], key="v-d")
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
    await market.pump()
    chargeback = await chargeback_of(market, order["order_id"])
    recovery = await recovery_of(market, chargeback["_id"])
    assert (recovery["status"], recovery["recovered"]) == ("recovered", 1169)
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == 0
    await market.assert_invariants()
    platform = await market.balance(Accounts.PLATFORM_FEES)

    stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
    await market.emulator.control_async(f"disputes/{stripe_dispute.id}/win")
    await market.pump()

    assert (await chargeback_of(market, order["order_id"]))["status"] == "won"
    recovery = await recovery_of(market, chargeback["_id"])
    assert (recovery["status"], recovery["repay"]) == ("repaid", 1169)
    (repayment,) = [t for t in await transfers_to(market, account) if "recovery_id" in t.metadata]
    assert (repayment.amount, repayment.id) == (1169, recovery["repayment_transfer"])
    assert repayment.metadata["dispute_id"] == chargeback["_id"]
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == 1169
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_B)) == 0
    # The platform got its advance and the dispute fee back from Stripe, and passed on to the
    # seller what it had taken from them.
    assert await market.balance(Accounts.PLATFORM_FEES) == platform + 1299 + 1500 - 1169
    assert await audited_actions(market, "seller_recovery", recovery["_id"]) == [
        "seller_recovery.repaid",
        "seller_recovery.reversed",
        "seller_recovery.started",
        "seller_recovery.stopped",
    ]
    await market.assert_invariants()

    # Asked again (an event repeated, the job's pass): paid once.
    current = await market.services.provider.retrieve_dispute(stripe_dispute.id)
    stored = await market.services.chargebacks.refresh_from_stripe(current, Actor.job("test"))
    assert stored.id == chargeback["_id"]
    await run_recoveries(market.database, market.services.seller_recovery, timedelta(0))
    assert len([t for t in await transfers_to(market, account) if "recovery_id" in t.metadata]) == 1
    await market.assert_invariants()


async def test_a_chargeback_won_after_the_debt_was_taken_from_a_release_pays_it_back_once_the_seller_can_receive(
    market: Marketplace,
) -> None:
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-x", [("prod_tea", 1)], key="x-1")
    await market.confirm_delivery("buyer-x", order["order_id"], key="x-d")
    await market.settle()
    stripe = market.emulator.stripe_client()
    await stripe.v1.payouts.create_async({"amount": 1169, "currency": "usd"}, {"stripe_account": account})
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
    await market.pump()
    chargeback = await chargeback_of(market, order["order_id"])
    assert (await recovery_of(market, chargeback["_id"]))["status"] == "debt"
    later = await paid_order(market, "buyer-x", [("prod_board", 1)], key="x-2")
    await market.confirm_delivery("buyer-x", later["order_id"], key="x-d2")
    assert await market.services.dispute_holds.owed_by(SELLER_B, "usd") == 0  # the release paid it
    await market.emulator.control_async(f"accounts/{account}/restrict")
    await market.pump()

    stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
    await market.emulator.control_async(f"disputes/{stripe_dispute.id}/win")
    await market.pump()
    recovery = await recovery_of(market, chargeback["_id"])
    assert (recovery["status"], recovery["repay"]) == ("repaying", 1169)
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_B)) == 1169  # owed to them
    await market.assert_invariants()

    await market.emulator.control_async(f"accounts/{account}/verify")
    await market.pump()
    connected = await market.balance(Accounts.seller_connected(SELLER_B))
    outcomes = await run_recoveries(market.database, market.services.seller_recovery, timedelta(0))
    assert outcomes == {"repaid": 1}
    assert (await recovery_of(market, chargeback["_id"]))["status"] == "repaid"
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == connected + 1169
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_B)) == 0
    await market.assert_invariants()
