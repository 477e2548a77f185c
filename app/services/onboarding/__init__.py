"""Seller onboarding: the connected Stripe accounts, mirrored from Connect webhooks."""

from app.services.onboarding.repository import INDEXES, StripeAccount
from app.services.onboarding.service import SellerAccountConflict, StripeAccounts
from app.services.onboarding.webhook_handlers import StripeAccountWebhookHandlers

__all__ = [
    "INDEXES",
    "SellerAccountConflict",
    "StripeAccount",
    "StripeAccountWebhookHandlers",
    "StripeAccounts",
]
