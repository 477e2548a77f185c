"""Connect events that keep sellers' accounts current: each is a reason to read the account again
from Stripe, never a state to store; and the one that says the platform lost an account."""

from __future__ import annotations

from app.adapters.payment_provider import WebhookEvent
from app.domain.audit import Actor
from app.services.onboarding.accounts import StripeAccounts
from app.services.webhooks import WebhookHandlers


class StripeAccountWebhookHandlers:
    def __init__(self, accounts: StripeAccounts) -> None:
        self._accounts = accounts

    def by_event_type(self) -> WebhookHandlers:
        return {
            "account.updated": self.on_account_changed,
            "capability.updated": self.on_account_changed,
            "account.application.deauthorized": self.on_application_deauthorized,
        }

    async def on_account_changed(self, event: WebhookEvent) -> None:
        if event.account is None:  # the platform's own account, not a connected one
            return
        await self._accounts.refresh(event.account, Actor.webhook(event.id), event)

    async def on_application_deauthorized(self, event: WebhookEvent) -> None:
        # The event's object is the platform's application; the account is the event's `account`.
        if event.account is None:
            raise ValueError(f"{event.type} event {event.id} names no connected account")
        await self._accounts.record_deauthorization(event.account, event.created, Actor.webhook(event.id))
