"""Connect events that keep the mirror of connected accounts current: each one is a reason to
read the account again from Stripe, never a state to store."""

from __future__ import annotations

from app.adapters.payment_provider import WebhookEvent
from app.services.onboarding.service import StripeAccounts
from app.services.webhooks import WebhookHandlers


class StripeAccountWebhookHandlers:
    def __init__(self, accounts: StripeAccounts) -> None:
        self._accounts = accounts

    def by_event_type(self) -> WebhookHandlers:
        return {
            "account.updated": self.on_account_updated,
            "account.application.deauthorized": self.on_application_deauthorized,
        }

    async def on_account_updated(self, event: WebhookEvent) -> None:
        if event.account is None:  # the platform's own account, not a connected one
            return
        await self._accounts.refresh(event.account, event.id, event.created)

    async def on_application_deauthorized(self, event: WebhookEvent) -> None:
        # The event's object is the platform's application; the account is the event's `account`.
        if event.account is None:
            raise ValueError(f"{event.type} event {event.id} names no connected account")
        await self._accounts.record_deauthorization(event.account, event.created)
