"""A scripted day of top-ups against the emulator, and the faults reconciliation must find.

The day: buyers top up their wallets by card (one after a declined card, one never paid and
canceled), the service handles every Stripe event as it would from the webhook, and Stripe's late
balance transactions arrive, so the books and Stripe agree at the end of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe

from app.container import Services
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.reconciliation import RunTrigger, Window
from app.domain.wallet import TOPUP_PURPOSE, TopupStatus, topup_entry_key
from app.services.reconciliation import ReconciliationRun
from app.services.webhooks import WebhookInbox
from tests.conftest import PLATFORM_WEBHOOK_SECRET
from tests.services.webhooks.support import deliver

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

DAY_TOPUPS = (2_500, 10_000, 4_200)
EXPIRY = Actor.job("expire_topups")


def today() -> Window:
    """A window around now wide enough for everything a test does, clock controls included."""
    now = datetime.now(UTC)
    return Window(now - timedelta(hours=12), now + timedelta(days=3))


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


async def credit_without_payment(services: Services) -> str:
    """A top-up credit in the ledger for a PaymentIntent Stripe never had."""
    move = Move(Accounts.CARD, Accounts.buyer_wallet("buyer-ghost"), 700, "usd")
    await services.ledger.post(
        entry(
            topup_entry_key("pi_ghost"), EntryKind.TOPUP, [move], topup="tu_ghost", payment_intent="pi_ghost"
        )
    )
    return "pi_ghost"


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


async def manual_credit(services: Services, amount: int = 250) -> None:
    """Wallet money the ledger shows and Stripe never received: the balance drifts."""
    move = Move(Accounts.CARD, Accounts.buyer_wallet("buyer-0"), amount, "usd")
    await services.ledger.post(entry("manual:credit", EntryKind.ADJUSTMENT, [move], note="typed by hand"))


async def reconcile(services: Services, window: Window | None = None) -> ReconciliationRun:
    return await services.reconciliation.run(window or today(), RunTrigger.COMMAND)


async def discrepancies(services: Services) -> list[Any]:
    page = await services.reconciliation_review.discrepancies(None, 100, None)
    return page.data
