"""What a delivery confirmation costs in MongoDB commands (issue 13: at most 12 with its transfer),
and why the transfer's payment operation can be recorded by the release's own transaction: a
process that stops between the release and the Stripe call leaves that call recorded, and it is
made exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db import Collections
from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.services.checkout import SellerTransfer, run_transfer_retries
from tests.checkout_support import SELLER_A, Marketplace
from tests.command_log import CommandLog


async def paid_wallet_order(market: Marketplace, buyer: str) -> str:
    await market.top_up(buyer, 5000)
    order = (await market.checkout(buyer, [("prod_mug", 1)], key=f"{buyer}-order", use_wallet=True)).json()
    await market.settle()
    return str(order["order_id"])


async def stripe_transfers(market: Marketplace) -> list[tuple[str, int]]:
    listed = await market.emulator.stripe_client().v1.transfers.list_async({"limit": 100})
    return [(transfer.destination, transfer.amount) for transfer in listed.data]


async def test_confirming_a_delivery_with_its_transfer_is_twelve_commands(
    market: Marketplace, command_log: CommandLog
) -> None:
    account = await market.seller_account(SELLER_A)
    order_id = await paid_wallet_order(market, "buyer-cost")

    with command_log.recording(market.settings.mongodb_database) as commands:
        answer = await market.confirm_delivery("buyer-cost", order_id, key="cost-d")

    assert answer.json()["escrows"][0]["status"] == "transferred", answer.text
    assert [(c.name, c.collection) for c in commands] == [
        ("insert", "idempotency_keys"),
        ("find", "escrows"),
        ("find", "stripe_accounts"),  # the seller's destination
        ("find", "seller_debts"),  # what the seller owes is taken from the release first
        ("find", "ledger_accounts"),
        # the release: its entry with balances and postings, the escrow released, its audit, the
        # transfer written and audited, and the transfer's payment operation recorded
        (
            "bulkWrite",
            "journal_entries+ledger_accounts+ledger_postings+escrows+audit_pending"
            "+seller_transfers+payment_operations",
        ),
        ("commitTransaction", None),
        ("update", "payment_operations"),  # completed with Stripe's answer
        ("find", "ledger_accounts"),
        # the transfer booked: pending_transfer -> connected, the transfer and the escrow moved
        (
            "bulkWrite",
            "journal_entries+ledger_accounts+ledger_postings+seller_transfers+audit_pending+escrows",
        ),
        ("commitTransaction", None),
        ("update", "idempotency_keys"),
    ]
    assert await stripe_transfers(market) == [(account, 1620)]
    operation = await market.database[Collections.PAYMENT_OPERATIONS].find_one({"kind": "transfer"})
    assert operation is not None
    assert (operation["status"], operation["attempts"]) == ("succeeded", 1)
    await market.assert_invariants()


async def test_a_release_stopped_before_its_transfer_call_is_paid_once_by_the_retries(
    market: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await market.seller_account(SELLER_A)
    order_id = await paid_wallet_order(market, "buyer-stop")

    async def stopped(transfer: SellerTransfer, actor: Actor, **_: object) -> SellerTransfer:
        raise RuntimeError("the process stops right after the release committed")

    with monkeypatch.context() as patched:
        patched.setattr(market.services.seller_transfers, "send", stopped)
        stopped_answer = await market.confirm_delivery("buyer-stop", order_id, key="stop-d")
    assert stopped_answer.status_code == 500

    (operation,) = await market.database[Collections.PAYMENT_OPERATIONS].find({"kind": "transfer"}).to_list()
    assert (operation["status"], operation["attempts"]) == ("pending", 1)  # recorded with the release
    assert await stripe_transfers(market) == []
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_A)) == 1620

    # The janitor makes the recorded call; the transfer job books it; neither makes a second one.
    assert await market.services.payment_operations.reconcile_pending_operations(timedelta(0)) == {
        "succeeded": 1
    }
    assert await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0)) == {
        "transferred": 1
    }
    assert await run_transfer_retries(market.database, market.services.seller_transfers, timedelta(0)) == {}
    await market.pump()

    assert await stripe_transfers(market) == [(account, 1620)]
    assert await market.balance(Accounts.seller_pending_transfer(SELLER_A)) == 0
    assert await market.balance(Accounts.seller_connected(SELLER_A)) == 1620
    order = (await market.client.get(f"/orders/{order_id}", headers=market.headers("buyer-stop"))).json()
    assert order["escrows"][0]["status"] == "transferred"
    await market.assert_invariants()
