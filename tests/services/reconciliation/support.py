"""Scripted days against the emulator, and the faults reconciliation must find.

The top-up day: buyers top up their wallets by card (one after a declined card, one never paid
and canceled), the service handles every Stripe event as it would from the webhook, and Stripe's
late balance transactions arrive, so the books and Stripe agree at the end of it.

The marketplace day (through the HTTP API): two onboarded sellers; orders paid by card (over both
sellers), from the wallet, and both; deliveries confirmed and their transfers made; a refund; a
buyer's dispute of a paid seller refunded (the seller's transfer reversed); a chargeback, won; a
payout paid. Every event is handled and Stripe's pending funds settle, so both sides agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe

from app.auth import Role
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.reconciliation import RunTrigger, Window
from app.domain.wallet import TOPUP_PURPOSE, TopupStatus, topup_entry_key
from app.services.reconciliation import ReconciliationRun
from app.services.webhooks import WebhookInbox
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.money_invariants import assert_money_invariants
from tests.payouts_support import request_payout, seller_with_bank
from tests.routers.disputes.support import (
    ADMIN,
    open_dispute,
    paid_order,
    refund_order,
    resolve,
    stripe_refunds,
)
from tests.services.webhooks.support import deliver

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

DAY_TOPUPS = (2_500, 10_000, 4_200)
EXPIRY = Actor.job("expire_topups")


def today() -> Window:
    """A window around now wide enough for everything a test does, clock controls included."""
    now = datetime.now(UTC)
    return Window(now - timedelta(hours=12), now + timedelta(days=3))


def earlier() -> Window:
    """The day before `today()`: nothing a test does is in it, as the daily run reconciling
    yesterday sees today's faults."""
    start = today().start
    return Window(start - timedelta(days=1), start)


async def handle_stripe_events(services: Services, inbox: WebhookInbox, emulator: EmulatorServer) -> None:
    """Every platform event the emulator sent, delivered to the service and processed, oldest
    first, after Stripe's work in flight is done (late balance transactions)."""
    await emulator.control_async("clock/advance", seconds=0)
    for event in reversed(emulator.events()):
        if event.get("account") is None:
            await deliver(inbox, event, PLATFORM_WEBHOOK_SECRET)
    await services.webhook_processor.process_due()
    await services.webhook_processor.process_due()


async def scripted_day(services: Services, inbox: WebhookInbox, emulator: EmulatorServer) -> None:
    for number, amount in enumerate(DAY_TOPUPS):
        topup = await services.topups.request(f"buyer-{number}", Money(amount, "usd"), f"day-{number}")
        if number == 1:
            await emulator.control_async(f"payment_intents/{topup.payment_intent_id}/fail")
        await emulator.control_async(f"payment_intents/{topup.payment_intent_id}/succeed")
    unpaid = await services.topups.request("buyer-9", Money(900, "usd"), "day-unpaid")
    await handle_stripe_events(services, inbox, emulator)
    await services.topup_expiry.expire_unpaid(timedelta(0))
    assert (await services.topups.get(unpaid.id)).status is TopupStatus.CANCELED


def stripe_client(emulator: EmulatorServer) -> stripe.StripeClient:
    return emulator.stripe_client()


async def paid_intent_of_unknown_topup(emulator: EmulatorServer, amount: int) -> str:
    """A top-up PaymentIntent paid at Stripe for a top-up the service never opened: its credit
    finds no top-up and books nothing, while its fee is booked as for any platform charge."""
    intent = await stripe_client(emulator).v1.payment_intents.create_async(
        {
            "amount": amount,
            "currency": "usd",
            "metadata": {"purpose": TOPUP_PURPOSE, "topup_id": "tu_never_opened", "user_id": "buyer-x"},
        }
    )
    await emulator.control_async(f"payment_intents/{intent.id}/succeed")
    return intent.id


async def credit_without_payment(services: Services, intent: str = "pi_ghost", amount: int = 700) -> str:
    """A top-up credit in the ledger for a PaymentIntent Stripe never had."""
    move = Move(Accounts.CARD, Accounts.buyer_wallet("buyer-ghost"), amount, "usd")
    await services.ledger.post(
        entry(
            topup_entry_key(intent), EntryKind.TOPUP, [move], topup=f"tu_of_{intent}", payment_intent=intent
        )
    )
    return intent


async def credit_off_by_one_cent(services: Services, inbox: WebhookInbox, emulator: EmulatorServer) -> str:
    """A top-up paid 10.00 at Stripe, credited 9.99."""
    intent_id = await paid_intent_of_unknown_topup(emulator, 1_000)
    await handle_stripe_events(services, inbox, emulator)
    move = Move(Accounts.CARD, Accounts.buyer_wallet("buyer-x"), 999, "usd")
    await services.ledger.post(
        entry(
            topup_entry_key(intent_id),
            EntryKind.TOPUP,
            [move],
            topup="tu_never_opened",
            payment_intent=intent_id,
        )
    )
    return intent_id


async def manual_credit(services: Services, amount: int = 250, key: str = "manual:credit") -> None:
    """Wallet money the ledger shows and Stripe never received: the balance drifts."""
    move = Move(Accounts.CARD, Accounts.buyer_wallet("buyer-0"), amount, "usd")
    await services.ledger.post(entry(key, EntryKind.ADJUSTMENT, [move], note="typed by hand"))


async def reconcile(services: Services, window: Window | None = None) -> ReconciliationRun:
    return await services.reconciliation.run(window or today(), RunTrigger.COMMAND)


async def discrepancies(services: Services) -> list[Any]:
    page = await services.reconciliation_review.discrepancies(None, 100, None)
    return page.data


# The marketplace day


@dataclass(frozen=True)
class MarketDay:
    """What the marketplace day made that its faults are seeded on."""

    accounts: dict[str, str]  # seller → connected account
    card_order: dict[str, Any]  # paid by card over both sellers, delivered: both transferred
    mixed_order: dict[str, Any]  # wallet and card, held, 500 refunded to the card
    payout: dict[str, Any]  # seller A's payout, paid


async def marketplace_day(market: Marketplace) -> MarketDay:
    accounts = {seller: await seller_with_bank(market, seller) for seller in (SELLER_A, SELLER_B)}
    await market.top_up("buyer-w", 5_000)
    await market.top_up("buyer-m", 1_000)
    card = await paid_order(market, "buyer-c", [("prod_mug", 1), ("prod_board", 1)], key="day-card")
    wallet = await paid_order(market, "buyer-w", [("prod_tea", 1)], key="day-wallet", use_wallet=True)
    mixed = await paid_order(market, "buyer-m", [("prod_apron", 1)], key="day-mixed", use_wallet=True)
    disputed = await paid_order(market, "buyer-d", [("prod_tea", 1)], key="day-disputed")
    charged_back = await paid_order(
        market, "buyer-x", [("prod_mug", 1)], key="day-chargeback", payment_method="pm_card_createDispute"
    )
    assert (wallet["amount_due"], mixed["amount_due"]) == (0, 4_250 - 1_000)
    await market.settle()
    for order, buyer in ((card, "buyer-c"), (wallet, "buyer-w"), (disputed, "buyer-d")):
        delivered = await market.confirm_delivery(buyer, order["order_id"], key=f"day-delivered-{buyer}")
        assert delivered.status_code == 200, delivered.text
        assert {escrow["status"] for escrow in delivered.json()["escrows"]} == {"transferred"}, delivered.text
    refunded = await refund_order(market, mixed["order_id"], key="day-refund", seller_id=SELLER_A, amount=500)
    assert refunded.status_code == 201, refunded.text
    await _refund_succeeds(market, mixed["payment_intent_id"])
    await _paid_seller_disputed_and_refunded(market, disputed)
    await _chargeback_won(market, charged_back)
    await market.settle()
    payout = await _payout_paid(market)
    await market.settle()
    await assert_money_invariants(market.database, market.services.provider)
    return MarketDay(accounts, card, mixed, payout)


async def _refund_succeeds(market: Marketplace, payment_intent_id: str) -> None:
    for refund in await stripe_refunds(market, payment_intent_id):
        if refund.status == "pending":
            await market.emulator.control_async(f"refunds/{refund.id}/succeed")
    await market.pump()


async def _paid_seller_disputed_and_refunded(market: Marketplace, order: dict[str, Any]) -> None:
    """The buyer disputes an order whose seller was paid; an admin refunds them: the platform
    refunds the card, and the seller's transfer is reversed."""
    opened = await open_dispute(market, "buyer-d", order["order_id"], SELLER_B, key="day-dispute")
    assert opened.status_code == 201, opened.text
    assert opened.json()["transferred"] is True
    resolved = await resolve(market, opened.json()["dispute_id"], key="day-resolve", outcome="refund_buyer")
    assert resolved.status_code == 200, resolved.text
    await _refund_succeeds(market, order["payment_intent_id"])


async def _chargeback_won(market: Marketplace, order: dict[str, Any]) -> None:
    """The cardholder's bank disputes the charge (its money and fee withdrawn); the platform
    sends evidence and wins (both given back)."""
    await market.pump()
    chargeback = await market.database[Collections.DISPUTES].find_one(
        {"order_id": order["order_id"], "kind": "chargeback"}
    )
    assert chargeback is not None
    submitted = await market.client.post(
        f"/admin/disputes/{chargeback['_id']}/submit-evidence",
        json={"product_description": "A mug", "shipping_tracking_number": "1Z999"},
        headers=market.headers(ADMIN, Role.ADMIN, key="day-evidence"),
    )
    assert submitted.status_code == 200, submitted.text
    await market.emulator.control_async(f"disputes/{chargeback['stripe_dispute_id']}/win")
    await market.pump()


async def _payout_paid(market: Marketplace) -> dict[str, Any]:
    requested = await request_payout(market, SELLER_A, key="day-payout")
    assert requested.status_code == 201, requested.text
    payout: dict[str, Any] = requested.json()
    await market.emulator.control_async(f"payouts/{payout['stripe_payout_id']}/pay")
    await market.pump()
    return payout
