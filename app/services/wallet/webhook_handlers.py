"""Stripe events that settle wallet top-ups."""

from __future__ import annotations

from app.adapters.payment_provider import PaymentIntent, WebhookEvent
from app.domain.audit import Actor
from app.domain.wallet import TOPUP_PURPOSE, TopupStatus
from app.services.wallet.topups import Topups
from app.services.webhooks import WebhookHandlers


class TopupWebhookHandlers:
    def __init__(self, topups: Topups) -> None:
        self._topups = topups

    def by_event_type(self) -> WebhookHandlers:
        return {
            "payment_intent.succeeded": self.on_payment_intent_succeeded,
            "payment_intent.payment_failed": self.on_payment_intent_payment_failed,
            "payment_intent.canceled": self.on_payment_intent_canceled,
        }

    async def on_payment_intent_succeeded(self, event: WebhookEvent) -> None:
        if intent := _topup_intent(event):
            await self._topups.credit(intent, Actor.webhook(event.id))

    async def on_payment_intent_payment_failed(self, event: WebhookEvent) -> None:
        if intent := _topup_intent(event):
            await self._topups.settle_unpaid(intent, TopupStatus.FAILED, Actor.webhook(event.id))

    async def on_payment_intent_canceled(self, event: WebhookEvent) -> None:
        if intent := _topup_intent(event):
            await self._topups.settle_unpaid(intent, TopupStatus.CANCELED, Actor.webhook(event.id))


def _topup_intent(event: WebhookEvent) -> PaymentIntent | None:
    """The event's PaymentIntent if it pays a top-up: on the platform, with the top-up purpose."""
    intent = event.object_as(PaymentIntent)
    return intent if event.account is None and intent.metadata.get("purpose") == TOPUP_PURPOSE else None
