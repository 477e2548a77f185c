"""What a seller's payout request costs in MongoDB commands, against the Stripe emulator."""

from __future__ import annotations

from app.auth import Role
from app.db import Collections
from tests.checkout_support import SELLER_A, Marketplace
from tests.command_log import CommandLog
from tests.payouts_support import MUG_NET, sell_and_settle, seller_with_bank


async def test_a_payout_request_is_ten_commands_around_the_stripe_calls(
    market: Marketplace, command_log: CommandLog
) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    services = market.services
    await services.feature_flags.states()  # the flags' rules, as a running process has them cached
    body = {"seller_id": SELLER_A, "amount": MUG_NET, "currency": "usd"}
    headers = market.headers(SELLER_A, Role.SELLER, key="cost-1")

    with command_log.recording(services.settings.mongodb_database) as commands:
        answer = await market.client.post("/payouts", json=body, headers=headers)

    assert answer.status_code == 201, answer.text
    payout = answer.json()
    assert (payout["status"], payout["amount"]) == ("pending", MUG_NET)
    assert [(c.name, c.collection, c.in_transaction) for c in commands] == [
        ("insert", "idempotency_keys", False),
        ("update", "leases", False),  # the seller's lock: one request at a time reads the balance
        ("find", "stripe_accounts", False),
        # Stripe's balance read here; then, in one transaction, the seller's open disputes, debt
        # and gate read together ...
        ("aggregate", "disputes", True),
        # ... the gate passed, the payout recorded with its Stripe call, audited
        ("bulkWrite", "seller_gates+payouts+payment_operations+audit_pending", True),
        ("commitTransaction", None, True),
        # Stripe's payout made; its answer stored ...
        ("update", "payouts", True),
        # ... with the call completed, the lock released and the change audited
        ("bulkWrite", "payment_operations+leases+audit_pending", True),
        ("commitTransaction", None, True),
        ("update", "idempotency_keys", False),  # the answer stored
    ]
    operation = await market.database[Collections.PAYMENT_OPERATIONS].find_one(
        {"_id": f"payout:{payout['payout_id']}"}
    )
    assert operation is not None
    assert (operation["status"], operation["attempts"], operation["stripe_id"]) == (
        "succeeded",
        1,
        payout["stripe_payout_id"],
    )
    assert (
        await market.database[Collections.LEASES].count_documents({"_id": f"payout_request:{SELLER_A}"}) == 0
    )
    audited = market.database[Collections.AUDIT_PENDING].find({"object.id": payout["payout_id"]})
    assert [record["after"]["status"] async for record in audited] == ["requested", "pending"]
    await market.assert_invariants()
