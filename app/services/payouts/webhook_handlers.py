"""Stripe events payouts act on: every payout event of a connected account (Connect endpoint).

An event only says when to look: the payout is read again from Stripe and stored with what the
ledger owes its state (`Payouts.refresh_from_stripe`), whatever order the events come in. A
payout event of the platform's own account is not a seller's and is left alone.
"""

from __future__ import annotations

from app.adapters.payment_provider import Payout, WebhookEvent
from app.domain.audit import Actor
from app.services.payouts.service import Payouts
from app.services.webhooks import WebhookHandlers

PAYOUT_EVENTS = ("payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled")


class PayoutWebhookHandlers:
    def __init__(self, payouts: Payouts) -> None:
        self._payouts = payouts

    def by_event_type(self) -> WebhookHandlers:
        return dict.fromkeys(PAYOUT_EVENTS, self.on_payout_changed)

    async def on_payout_changed(self, event: WebhookEvent) -> None:
        if event.account is not None:
            await self._payouts.refresh_from_stripe(
                event.account, event.object_as(Payout), Actor.webhook(event.id)
            )
