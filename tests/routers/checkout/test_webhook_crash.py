"""A webhook handler crashing half-way: the order's payment event fails after the event's first
handlers wrote (Stripe's fee booked) and after the checkout's own first write (the order marked
paid, in its transaction); the event is retried by the processor, as the worker retries it, to a
consistent end, the card's money credited once."""

from __future__ import annotations

from typing import Any

import pytest

from app.config import Settings
from app.db import Collections
from app.domain.ledger import Accounts
from app.domain.stripe_fees import stripe_fee_key
from app.domain.webhooks import Outcome
from app.services.checkout.repository import OrderRepository
from stripe_emulator.testing import EmulatorServer
from tests.checkout_support import SELLER_A, Marketplace
from tests.conftest import make_settings


class HandlerCrashed(RuntimeError):
    pass


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    """A failed event is due again at once, so the next pass of the processor retries it."""
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
    )


async def test_a_payment_handler_crashing_after_its_first_write_is_retried_to_one_credit(
    market: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    await market.seller_account(SELLER_A)
    order = (await market.checkout("buyer-c", [("prod_mug", 1)], key="crash-1")).json()
    mark_paid = OrderRepository.mark_paid
    crashes: list[str] = []

    async def crash_after_marking_paid(self: OrderRepository, *args: Any, **kwargs: Any) -> bool:
        marked = await mark_paid(self, *args, **kwargs)
        if not crashes:
            crashes.append(order["order_id"])
            raise HandlerCrashed("the process died after marking the order paid")
        return marked

    monkeypatch.setattr(OrderRepository, "mark_paid", crash_after_marking_paid)
    assert (await market.pay_by_card(order)).status_code == 200
    # Stripe's asynchronous work done: the charge has its balance transaction, and its fee.
    await market.emulator.control_async("clock/advance", seconds=60)
    (event,) = market.emulator.events("payment_intent.succeeded")
    await market.deliver(event)
    (failed,) = await market.services.webhook_processor.process_due(limit=10)
    assert (failed.event_id, failed.outcome) == (event["id"], Outcome.RETRY_SCHEDULED)

    assert crashes == [order["order_id"]]
    stored = await market.database[Collections.WEBHOOK_EVENTS].find_one({"_id": event["id"]})
    assert stored is not None
    assert (stored["status"], stored["attempts"], "HandlerCrashed" in stored["last_error"]) == (
        "failed",
        1,
        True,
    )
    half_way = await market.database[Collections.ORDERS].find_one({"_id": order["order_id"]})
    assert half_way is not None
    assert half_way["status"] == "awaiting_payment"  # the mark rolled back with its transaction
    intent = await market.emulator.stripe_client().v1.payment_intents.retrieve_async(
        order["payment_intent_id"], {"expand": ["latest_charge"]}
    )
    fee_txn = intent.latest_charge.balance_transaction  # type: ignore[union-attr]
    assert (
        await market.database[Collections.JOURNAL_ENTRIES].count_documents(
            {"_id": stripe_fee_key(str(fee_txn))}
        )
        == 1
    )  # the fee handler before it had written

    retried = await market.services.webhook_processor.process_due(limit=10)
    assert [(outcome.outcome, outcome.attempts) for outcome in retried] == [(Outcome.PROCESSED, 2)]
    assert await market.services.webhook_processor.process_due(limit=10) == []

    paid = await market.database[Collections.ORDERS].find_one({"_id": order["order_id"]})
    assert paid is not None
    assert paid["status"] == "paid"
    assert await market.balance(Accounts.escrow(order["order_id"], SELLER_A)) == 1800
    credits = market.database[Collections.JOURNAL_ENTRIES].find({"refs.order": order["order_id"]})
    assert [entry["_id"] async for entry in credits] == [f"checkout_card:{order['payment_intent_id']}"]
    assert (
        await market.database[Collections.JOURNAL_ENTRIES].count_documents(
            {"_id": stripe_fee_key(str(fee_txn))}
        )
        == 1
    )
    await market.assert_invariants()
