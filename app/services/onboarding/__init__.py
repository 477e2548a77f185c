"""Seller onboarding: sellers' connected Stripe accounts, created on first need and kept current
from Connect webhooks, the seller's standing derived from them, and the signal that a seller can
(or can no longer) receive transfers."""

from app.services.onboarding.accounts import STATUS_CHANGED, SellerAccountConflict, StripeAccounts
from app.services.onboarding.repository import INDEXES, SellerFilter, SellerPage, StripeAccount
from app.services.onboarding.service import (
    LINK_ERRORS,
    REFRESH_ERRORS,
    Onboarding,
    OnboardingLink,
    SellerCountryUnsupported,
    SellerProfileIncomplete,
    SellerStanding,
)
from app.services.onboarding.signals import TransferSignal, TransferSignalListener
from app.services.onboarding.webhook_handlers import StripeAccountWebhookHandlers

__all__ = [
    "INDEXES",
    "LINK_ERRORS",
    "REFRESH_ERRORS",
    "STATUS_CHANGED",
    "Onboarding",
    "OnboardingLink",
    "SellerAccountConflict",
    "SellerCountryUnsupported",
    "SellerFilter",
    "SellerPage",
    "SellerProfileIncomplete",
    "SellerStanding",
    "StripeAccount",
    "StripeAccountWebhookHandlers",
    "StripeAccounts",
    "TransferSignal",
    "TransferSignalListener",
]
