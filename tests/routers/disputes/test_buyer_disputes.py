"""A buyer's dispute between payment and delivery: the escrow is frozen (nothing releases it),
and an admin resolves it by a refund to every source, a release, or a split exact to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.auth import Role
from app.db import Collections
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.services.checkout import EscrowDisputed, EscrowReleases
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace
from tests.routers.disputes.support import (
    ADMIN,
    escrow_of,
    open_dispute,
    paid_order,
    resolve,
    stripe_refunds,
)


async def test_a_disputed_escrow_is_never_released_and_refund_buyer_gives_each_source_back(
    market: Marketplace,
) -> None:
    await market.seller_account(SELLER_A)
    await market.seller_account(SELLER_B)
    await market.legacy_balance("buyer-m", "20.00")
    await market.top_up("buyer-m", 3000)
    order = await paid_order(
        market, "buyer-m", [("prod_mug", 1), ("prod_board", 1)], key="m-1", use_wallet=True
    )
    order_id = order["order_id"]
    assert (await escrow_of(market, order_id, SELLER_B))["funding"] == {
        "legacy": 200,
        "wallet": 3000,
        "card": 3799,
    }
    held_b = await market.services.escrows.get((await escrow_of(market, order_id, SELLER_B))["_id"])
    assert held_b is not None

    opened = await open_dispute(market, "buyer-m", order_id, SELLER_B, key="d-1")
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["status"], dispute["open"], dispute["amount"]) == ("open", True, 6999)
    assert dispute["funding"] == {"legacy": 200, "wallet": 3000, "card": 3799}
    assert (await escrow_of(market, order_id, SELLER_B))["status"] == "disputed"

    for body_seller in (SELLER_B, None):
        refused = await market.confirm_delivery(
            "buyer-m", order_id, key=f"c-{body_seller}", seller_id=body_seller
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "escrow_disputed")
    # A release that read the escrow while it was held (auto-release's pass) is refused too.
    later = datetime.now(UTC) + timedelta(days=365)
    releases = EscrowReleases(
        market.database,
        market.services.ledger,
        market.services.audit_log,
        market.services.seller_transfers,
        market.services.seller_debts,
        timedelta(days=1),
        clock=lambda: later,
    )
    try:
        await releases.release(held_b, reason="auto_release", actor=Actor.job("test"))  # type: ignore[arg-type]
        raise AssertionError("a disputed escrow was released")
    except EscrowDisputed:
        pass
    await market.settle()  # seller A's legacy-paid part leaves from the platform's available balance
    assert await releases.release_due(Actor.job("test")) == {"transferred": 1}  # seller A's only
    assert (await escrow_of(market, order_id, SELLER_B))["status"] == "disputed"

    resolved = await resolve(market, dispute["dispute_id"], key="r-1", outcome="refund_buyer")
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["open"]) == ("resolved_refund", False)
    escrow_b = await escrow_of(market, order_id, SELLER_B)
    assert (escrow_b["status"], escrow_b["refunded"]) == (
        "refunded",
        {"legacy": 200, "wallet": 3000, "card": 3799},
    )
    assert await market.balance(Accounts.buyer_legacy("buyer-m")) == 200
    assert await market.balance(Accounts.buyer_wallet("buyer-m")) == 3000
    # The legacy money spent went 2000 out of the reserve; 200 of it came back.
    assert await market.balance(Accounts.RESERVE_FUNDING) == 1800
    (refund,) = await stripe_refunds(market, order["payment_intent_id"])
    assert refund.amount == 3799

    await market.emulator.control_async(f"refunds/{refund.id}/succeed")
    await market.pump()
    ours = await market.client.get(
        f"/admin/refunds/{resolved.json()['refund_id']}", headers=market.headers(ADMIN, Role.ADMIN)
    )
    assert (ours.json()["status"], ours.json()["stripe_refund_id"]) == ("succeeded", refund.id)
    assert await market.balance(Accounts.escrow(order_id, SELLER_B)) == 0
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 10})).data
    assert [t.metadata["escrow_id"] for t in transfers] == [
        (await escrow_of(market, order_id, SELLER_A))["_id"]
    ]
    await market.assert_invariants()


async def test_release_to_seller_pays_the_seller_from_the_frozen_escrow(market: Marketplace) -> None:
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-r", [("prod_tea", 1)], key="r-1")
    dispute = (await open_dispute(market, "buyer-r", order["order_id"], SELLER_B, key="d-r")).json()

    resolved = await resolve(market, dispute["dispute_id"], key="r-r", outcome="release_to_seller")
    assert resolved.json()["status"] == "resolved_release"
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    assert (escrow["status"], escrow["release_reason"]) == ("transferred", "dispute_resolved")
    (transfer,) = (await market.emulator.stripe_client().v1.transfers.list_async()).data
    assert (transfer.destination, transfer.amount) == (account, 1299 - 130)
    other = await resolve(market, dispute["dispute_id"], key="r-r2", outcome="refund_buyer")
    assert (other.status_code, other.json()["code"]) == (409, "dispute_not_open"), other.text
    retried = await resolve(market, dispute["dispute_id"], key="r-r3", outcome="release_to_seller")
    assert (retried.status_code, retried.json()) == (200, resolved.json())
    replayed = await resolve(market, dispute["dispute_id"], key="r-r", outcome="release_to_seller")
    assert (replayed.status_code, replayed.json()) == (200, resolved.json())
    assert await market.database[Collections.REFUNDS].count_documents({}) == 0
    await market.assert_invariants()


async def test_split_with_odd_amounts_is_exact_to_the_cent_card_first_or_as_the_admin_says(
    market: Marketplace,
) -> None:
    await market.seller_account(SELLER_B)
    await market.legacy_balance("buyer-s", "20.00")
    await market.top_up("buyer-s", 3000)
    order = await paid_order(
        market, "buyer-s", [("prod_mug", 1), ("prod_board", 1)], key="s-1", use_wallet=True
    )
    order_id = order["order_id"]
    dispute = (await open_dispute(market, "buyer-s", order_id, SELLER_B, key="d-s")).json()
    await market.settle()  # the rest leaves partly from the platform's available balance

    resolved = await resolve(
        market,
        dispute["dispute_id"],
        key="r-s",
        outcome="split",
        refund_amount=1001,
        refund_sources=["legacy", "wallet"],
    )
    assert resolved.status_code == 200, resolved.text
    escrow = await escrow_of(market, order_id, SELLER_B)
    kept = 6999 - 1001
    fee = 600  # round_half_up(5998 * 10%)
    assert escrow["refunded"] == {"legacy": 200, "wallet": 801, "card": 0}
    assert (escrow["fee"], escrow["net"], escrow["status"]) == (fee, kept - fee, "transferred")
    assert await market.balance(Accounts.buyer_legacy("buyer-s")) == 200
    assert await market.balance(Accounts.buyer_wallet("buyer-s")) == 801
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async()).data
    assert sum(t.amount for t in transfers) == kept - fee
    assert await stripe_refunds(market, order["payment_intent_id"]) == []

    card = await paid_order(market, "buyer-s", [("prod_board", 1)], key="s-2")
    card_dispute = (await open_dispute(market, "buyer-s", card["order_id"], SELLER_B, key="d-s2")).json()
    split = await resolve(market, card_dispute["dispute_id"], key="r-s2", outcome="split", refund_amount=3333)
    assert split.json()["status"] == "resolved_split"
    (refund,) = await stripe_refunds(market, card["payment_intent_id"])
    assert refund.amount == 3333
    escrow = await escrow_of(market, card["order_id"], SELLER_B)
    assert (escrow["fee"], escrow["net"]) == (367, 3299)  # 3666 kept: a fee of 366.6 rounds up
    assert 3333 + escrow["fee"] + escrow["net"] == 6999
    await market.assert_invariants()
    assert await market.balance(Accounts.seller_connected(SELLER_B)) == (kept - fee) + 3299


async def test_dispute_refusals(market: Marketplace) -> None:
    order = await paid_order(market, "buyer-f", [("prod_tea", 1)], key="f-1")
    order_id = order["order_id"]
    elsewhere = await open_dispute(market, "buyer-other", order_id, SELLER_B, key="x-1")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    wrong_seller = await open_dispute(market, "buyer-f", order_id, SELLER_A, key="x-2")
    assert wrong_seller.status_code == 404
    as_seller = await market.client.post(
        "/dispute",
        json={"order_id": order_id, "seller_id": SELLER_B, "reason": "other", "description": "x"},
        headers=market.headers(SELLER_B, Role.SELLER, key="x-3"),
    )
    assert as_seller.status_code == 403

    dispute = (await open_dispute(market, "buyer-f", order_id, SELLER_B, key="f-d")).json()
    twice = await open_dispute(market, "buyer-f", order_id, SELLER_B, key="f-d2")
    assert (twice.status_code, twice.json()["code"]) == (409, "dispute_already_open")
    replay = await open_dispute(market, "buyer-f", order_id, SELLER_B, key="f-d")
    assert replay.json()["dispute_id"] == dispute["dispute_id"]

    not_admin = await market.client.post(
        f"/admin/disputes/{dispute['dispute_id']}/resolve",
        json={"outcome": "refund_buyer", "note": "x"},
        headers=market.headers("buyer-f", key="f-r"),
    )
    assert not_admin.status_code == 403
    no_amount = await resolve(market, dispute["dispute_id"], key="f-r2", outcome="split")
    assert (no_amount.status_code, no_amount.json()["code"]) == (422, "refund_amount_required")
    whole = await resolve(market, dispute["dispute_id"], key="f-r3", outcome="split", refund_amount=1299)
    assert whole.json()["code"] == "refund_amount_required"
    unknown = await resolve(market, "dsp_nothing", key="f-r4", outcome="refund_buyer")
    assert unknown.status_code == 404

    seen_by_seller = await market.client.get(
        f"/dispute/{dispute['dispute_id']}", headers=market.headers(SELLER_B, Role.SELLER)
    )
    assert seen_by_seller.status_code == 200
    for stranger in (market.headers(SELLER_A, Role.SELLER), market.headers("buyer-other")):
        hidden = await market.client.get(f"/dispute/{dispute['dispute_id']}", headers=stranger)
        assert hidden.status_code == 404
    await market.assert_invariants()


async def test_a_paid_seller_is_disputed_within_the_window_and_not_after(market: Marketplace) -> None:
    await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-w", [("prod_tea", 1)], key="w-1")
    confirmed = await market.confirm_delivery("buyer-w", order["order_id"], key="w-c")
    assert confirmed.json()["escrows"][0]["status"] == "transferred"

    opened = await open_dispute(market, "buyer-w", order["order_id"], SELLER_B, key="w-d")
    assert opened.status_code == 201, opened.text
    assert (opened.json()["transferred"], opened.json()["amount"]) == (True, 1299 - 130)
    hold = await market.services.dispute_holds.hold_of(SELLER_B)
    assert (hold.blocked, hold.amounts) == (True, {"usd": 1169})

    await market.database[Collections.ESCROWS].update_one(
        {"order_id": order["order_id"]},
        {
            "$set": {
                "released_at": datetime.now(UTC) - timedelta(days=market.settings.dispute_window_days + 1)
            }
        },
    )
    resolved = await resolve(market, opened.json()["dispute_id"], key="w-r", outcome="release_to_seller")
    assert resolved.json()["status"] == "resolved_release"
    late = await open_dispute(market, "buyer-w", order["order_id"], SELLER_B, key="w-d2")
    assert (late.status_code, late.json()["code"]) == (409, "dispute_window_closed")
    assert not (await market.services.dispute_holds.hold_of(SELLER_B)).blocked
    await market.assert_invariants()
