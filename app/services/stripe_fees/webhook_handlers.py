"""The events that say a platform charge's balance transaction may be known."""

from __future__ import annotations

from app.adapters.payment_provider import Charge, PaymentIntent, WebhookEvent
from app.domain.audit import Actor
from app.services.stripe_fees.service import StripeFees
from app.services.webhooks import WebhookHandlers


class StripeFeeWebhookHandlers:
    def __init__(self, fees: StripeFees) -> None:
        self._fees = fees

    def by_event_type(self) -> WebhookHandlers:
        return {
            "payment_intent.succeeded": self.on_payment_intent_succeeded,
            "charge.updated": self.on_charge_updated,
        }

    async def on_payment_intent_succeeded(self, event: WebhookEvent) -> None:
        """Every platform charge pays a fee, whatever it paid for (a top-up, a checkout)."""
        intent = event.object_as(PaymentIntent)
        if event.account is None and intent.latest_charge is not None:
            await self._fees.record_charge_fee(intent.latest_charge, Actor.webhook(event.id))

    async def on_charge_updated(self, event: WebhookEvent) -> None:
        # The event's copy only says the balance transaction may be there; the fee is read from Stripe.
        charge = event.object_as(Charge)
        if event.account is None and charge.balance_transaction is not None:
            await self._fees.record_charge_fee(charge.id, Actor.webhook(event.id))
