"""The Stripe events of chargebacks: each only says when to read the dispute from Stripe again."""

from __future__ import annotations

from app.adapters.payment_provider import Dispute, WebhookEvent
from app.domain.audit import Actor
from app.services.disputes.chargebacks import Chargebacks
from app.services.webhooks import WebhookHandlers

EVENTS = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)


class ChargebackWebhookHandlers:
    def __init__(self, chargebacks: Chargebacks) -> None:
        self._chargebacks = chargebacks

    def by_event_type(self) -> WebhookHandlers:
        return dict.fromkeys(EVENTS, self.on_dispute_changed)

    async def on_dispute_changed(self, event: WebhookEvent) -> None:
        """Chargebacks of the platform's charges (a connected account's own are theirs)."""
        if event.account is None:
            await self._chargebacks.refresh_from_stripe(event.object_as(Dispute), Actor.webhook(event.id))
