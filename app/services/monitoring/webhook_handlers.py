"""PaymentIntent outcomes counted as Stripe reports them, whatever the payment is for."""

from __future__ import annotations

from app.adapters.payment_provider import PaymentIntent, WebhookEvent
from app.services.monitoring import metrics
from app.services.webhooks import WebhookHandlers

OUTCOMES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
}


class PaymentIntentOutcomeHandlers:
    def by_event_type(self) -> WebhookHandlers:
        return dict.fromkeys(OUTCOMES, self.on_outcome)

    async def on_outcome(self, event: WebhookEvent) -> None:
        """Counted per event: Stripe sends one per attempt (a failed attempt, then a success, is
        both). An event whose other handlers fail runs again and is counted again; that is rare."""
        intent = event.object_as(PaymentIntent)
        if event.account is None:
            # Only our own purposes become label values: metadata is not ours to bound.
            purpose = intent.metadata.get("purpose", "")
            purpose = purpose if purpose in metrics.PAYMENT_PURPOSES else "other"
            metrics.PAYMENT_INTENTS.labels(purpose, OUTCOMES[event.type]).inc()
