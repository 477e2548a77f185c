"""The Stripe events of refunds: each only says when to read the refund from Stripe again."""

from __future__ import annotations

from app.adapters.payment_provider import Charge, Refund, WebhookEvent
from app.domain.audit import Actor
from app.services.refunds.service import Refunds
from app.services.webhooks import WebhookHandlers


class RefundWebhookHandlers:
    def __init__(self, refunds: Refunds) -> None:
        self._refunds = refunds

    def by_event_type(self) -> WebhookHandlers:
        return {
            "refund.created": self.on_refund_changed,
            "refund.updated": self.on_refund_changed,
            "refund.failed": self.on_refund_changed,
            "charge.refunded": self.on_charge_refunded,
        }

    async def on_refund_changed(self, event: WebhookEvent) -> None:
        if event.account is None:
            await self._refunds.refresh_from_stripe(event.object_as(Refund), Actor.webhook(event.id))

    async def on_charge_refunded(self, event: WebhookEvent) -> None:
        charge = event.object_as(Charge)
        if event.account is None and charge.payment_intent is not None:
            await self._refunds.refresh_charge(charge.payment_intent, Actor.webhook(event.id))
