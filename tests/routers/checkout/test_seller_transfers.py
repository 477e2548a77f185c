"""Paying sellers: a seller who cannot receive yet has the net parked in `pending_transfer` and
paid by exactly one transfer once onboarding says they can; a restricted seller is not paid; a
transfer the platform's balance cannot cover waits for the transfer-pending job."""

from __future__ import annotations

from datetime import timedelta

from app.auth import Role
from app.domain.ledger import Accounts
from app.services.checkout import run_transfer_retries
from tests.checkout_support import SELLER_A, Marketplace


async def paid_wallet_order(market: Marketplace, buyer: str, key: str) -> str:
    await market.top_up(buyer, 5000)
    order = (await market.checkout(buyer, [("prod_mug", 1)], key=key, use_wallet=True)).json()
    await market.settle()
    return str(order["order_id"])


async def stripe_transfers(market: Marketplace) -> list[tuple[str, int]]:
    listed = await market.emulator.stripe_client().v1.transfers.list_async({"limit": 100})
    return [(transfer.destination, transfer.amount) for transfer in listed.data]


async def test_a_release_waits_for_the_seller_and_is_paid_once_when_they_can_receive(
    market: Marketplace,
) -> None:
    order_id = await paid_wallet_order(market, "buyer-p", "p-1")
    released = await market.confirm_delivery("buyer-p", order_id, key="p-d")
    assert released.json()["escrows"][0]["status"] == "released"
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_A)) == 1620
    waiting = await market.client.get(
        "/admin/transfers?status=awaiting_destination", headers=market.headers("a", Role.ADMIN)
    )
    assert [(t["seller_id"], t["amount"]) for t in waiting.json()["data"]] == [(SELLER_A, 1620)]

    account = await market.seller_account(SELLER_A)  # onboarding's signal sends what waited
    await market.pump()
    await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0))

    assert await stripe_transfers(market) == [(account, 1620)]
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_A)) == 0
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == 1620
    escrow = (await market.client.get(f"/orders/{order_id}", headers=market.headers("buyer-p"))).json()[
        "escrows"
    ][0]
    assert escrow["status"] == "transferred"
    await market.assert_invariants()


async def test_a_missed_signal_is_caught_up_by_the_transfer_pending_job(market: Marketplace) -> None:
    order_id = await paid_wallet_order(market, "buyer-j", "j-1")
    await market.confirm_delivery("buyer-j", order_id, key="j-d")
    # The process dies between onboarding's commit and its signal: nobody is told.
    listeners = market.services.stripe_accounts._signals._listeners
    listeners.clear()
    account = await market.seller_account(SELLER_A)
    assert await stripe_transfers(market) == []

    outcomes = await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0))
    assert outcomes == {"transferred": 1}
    assert await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0)) == {}
    assert await stripe_transfers(market) == [(account, 1620)]
    await market.assert_invariants()


async def test_a_restricted_seller_is_not_paid_until_they_can_receive_again(market: Marketplace) -> None:
    account = await market.seller_account(SELLER_A)
    await market.emulator.control_async(f"accounts/{account}/restrict")
    await market.pump()
    order_id = await paid_wallet_order(market, "buyer-r", "r-1")

    released = await market.confirm_delivery("buyer-r", order_id, key="r-d")
    assert released.json()["escrows"][0]["status"] == "released"
    assert await stripe_transfers(market) == []
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_A)) == 1620

    await market.emulator.control_async(f"accounts/{account}/verify")
    await market.pump()
    assert await stripe_transfers(market) == [(account, 1620)]
    await market.assert_invariants()


async def test_a_transfer_the_platform_balance_cannot_cover_waits_and_is_retried(market: Marketplace) -> None:
    account = await market.seller_account(SELLER_A)
    await market.legacy_balance("buyer-l", "18.00")  # legacy money is not at Stripe
    order = (await market.checkout("buyer-l", [("prod_mug", 1)], key="l-1", use_wallet=True)).json()
    assert order["funding"] == {"legacy": 1800, "wallet": 0, "card": 0}

    released = await market.confirm_delivery("buyer-l", order["order_id"], key="l-d")
    assert released.json()["escrows"][0]["status"] == "released"
    (waiting,) = (
        await market.client.get("/admin/transfers", headers=market.headers("a", Role.ADMIN))
    ).json()["data"]
    assert (waiting["status"], waiting["failure_code"]) == ("awaiting_funds", "balance_insufficient")
    await market.assert_invariants()

    await market.top_up("someone-else", 5000)  # money reaches the platform's balance
    await market.settle()
    assert await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0)) == {
        "transferred": 1
    }
    assert await stripe_transfers(market) == [(account, 1620)]
    await market.assert_invariants()
