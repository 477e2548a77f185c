"""A payout request whose Stripe answer is lost: the payout and its Stripe call were recorded
before the call, the seller's lock is free again, and the payout is finished by the request
asked again under the same Idempotency-Key, or by the janitor and Stripe's events."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from app.config import Settings
from app.db import Collections
from tests.checkout_support import SELLER_A, Marketplace
from tests.conftest import make_settings
from tests.payouts_support import MUG_NET, request_payout, sell_and_settle, seller_with_bank

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        stripe_max_network_retries=0,
        stripe_retry_attempts=1,
    )


async def lost_payout(market: Marketplace) -> tuple[str, dict[str, Any]]:
    """A payout of the seller's whole balance whose creation Stripe performs, but whose answer
    never arrives; its id, and Stripe's account."""
    account = await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    await market.emulator.control_async(
        "faults", path_prefix="/v1/payouts", method="POST", count=1, drop_response=True
    )
    lost = await request_payout(market, SELLER_A, key="lost", amount=MUG_NET)
    assert (lost.status_code, lost.json()["code"]) == (504, "payment_outcome_unknown")
    (payout,) = await market.database[Collections.PAYOUTS].find({"seller_id": SELLER_A}).to_list()
    assert (payout["status"], payout["amount"]) == ("requested", MUG_NET)
    operation = await market.database[Collections.PAYMENT_OPERATIONS].find_one(
        {"_id": f"payout:{payout['_id']}"}
    )
    assert operation is not None
    assert (operation["status"], operation["attempts"]) == ("pending", 1)  # recorded before the call
    lock = {"_id": f"payout_request:{SELLER_A}"}
    assert await market.database[Collections.LEASES].count_documents(lock) == 0
    return account, payout


async def stripe_payouts(market: Marketplace, account: str) -> list[tuple[str, int]]:
    made = await market.emulator.stripe_client().v1.payouts.list_async(
        {"limit": 100}, {"stripe_account": account}
    )
    return [(payout.metadata["payout_id"], payout.amount) for payout in made.data]


async def test_asked_again_the_lost_payout_goes_on_though_the_balance_it_took_is_gone(
    market: Marketplace,
) -> None:
    account, payout = await lost_payout(market)

    # A new request finds Stripe's balance empty: the lost payout was made.
    other = await request_payout(market, SELLER_A, key="another", amount=MUG_NET)
    assert (other.status_code, other.json()["code"]) == (409, "insufficient_funds")
    retried = await request_payout(market, SELLER_A, key="lost", amount=MUG_NET)

    assert retried.status_code == 201, retried.text
    assert (retried.json()["payout_id"], retried.json()["status"]) == (payout["_id"], "pending")
    assert await stripe_payouts(market, account) == [(payout["_id"], MUG_NET)]
    assert await market.database[Collections.PAYOUTS].count_documents({}) == 1
    await market.pump()
    await market.assert_invariants()


async def test_left_alone_the_lost_payout_is_settled_by_the_janitor_and_stored_from_its_events(
    market: Marketplace,
) -> None:
    account, payout = await lost_payout(market)

    outcomes = await market.services.payment_operations.reconcile_pending_operations(timedelta(0))
    await market.pump()

    assert outcomes["succeeded"] == 1
    stored = await market.database[Collections.PAYOUTS].find_one({"_id": payout["_id"]})
    assert stored is not None
    assert stored["status"] == "pending"
    assert await stripe_payouts(market, account) == [(payout["_id"], MUG_NET)]
    await market.assert_invariants()


async def test_asked_again_while_stripe_balance_is_unreadable_the_lost_payout_still_goes_on(
    market: Marketplace,
) -> None:
    """The retry of a recorded payout needs no balance: Stripe's balance answering 500 does not
    stop it from being made (under its key, so once)."""
    account, payout = await lost_payout(market)
    await market.emulator.control_async(
        "faults", path_prefix="/v1/balance", method="GET", count=5, status=500
    )

    retried = await request_payout(market, SELLER_A, key="lost", amount=MUG_NET)

    assert retried.status_code == 201, retried.text
    assert (retried.json()["payout_id"], retried.json()["status"]) == (payout["_id"], "pending")
    assert await stripe_payouts(market, account) == [(payout["_id"], MUG_NET)]
    await market.emulator.clear_faults_async()
    await market.pump()
    await market.assert_invariants()
