"""Stripe events checkout acts on: the payment of an order, and the transfers to its sellers.

Payment events of top-ups are the wallet's: each handler looks only at PaymentIntents whose
metadata names checkout as their purpose. A transfer event is only a reason to read the transfer
from Stripe again (`SellerTransfers.refresh_from_stripe`).
"""

from __future__ import annotations

from app.adapters.payment_provider import PaymentIntent, Transfer, WebhookEvent
from app.domain.audit import Actor
from app.domain.checkout import CHECKOUT_PURPOSE
from app.services.checkout.checkout import Checkout
from app.services.checkout.transfers import SellerTransfers
from app.services.webhooks import WebhookHandlers


class CheckoutWebhookHandlers:
    def __init__(self, checkout: Checkout, transfers: SellerTransfers) -> None:
        self._checkout = checkout
        self._transfers = transfers

    def by_event_type(self) -> WebhookHandlers:
        return {
            "payment_intent.succeeded": self.on_payment_intent_succeeded,
            "payment_intent.payment_failed": self.on_payment_intent_payment_failed,
            "payment_intent.canceled": self.on_payment_intent_canceled,
            "transfer.created": self.on_transfer_changed,
            "transfer.updated": self.on_transfer_changed,
            "transfer.reversed": self.on_transfer_changed,
        }

    async def on_payment_intent_succeeded(self, event: WebhookEvent) -> None:
        if intent := _checkout_intent(event):
            await self._checkout.pay(intent, Actor.webhook(event.id))

    async def on_payment_intent_payment_failed(self, event: WebhookEvent) -> None:
        """A declined card ends the order: its PaymentIntent is canceled, the wallet parts go back."""
        await self._cancel(event, "payment_failed", intent_canceled=False)

    async def on_payment_intent_canceled(self, event: WebhookEvent) -> None:
        await self._cancel(event, "payment_canceled", intent_canceled=True)

    async def _cancel(self, event: WebhookEvent, reason: str, *, intent_canceled: bool) -> None:
        intent = _checkout_intent(event)
        order = await self._checkout.get(intent.metadata.get("order_id", "")) if intent else None
        if order is not None:
            await self._checkout.cancel_unpaid(
                order, reason, Actor.webhook(event.id), intent_canceled=intent_canceled
            )

    async def on_transfer_changed(self, event: WebhookEvent) -> None:
        if event.account is None:
            await self._transfers.refresh_from_stripe(event.object_as(Transfer), Actor.webhook(event.id))


def _checkout_intent(event: WebhookEvent) -> PaymentIntent | None:
    """The event's PaymentIntent if it pays an order: on the platform, with checkout's purpose."""
    intent = event.object_as(PaymentIntent)
    return intent if event.account is None and intent.metadata.get("purpose") == CHECKOUT_PURPOSE else None
