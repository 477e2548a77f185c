"""Stripe's fees in the ledger: one entry per fee, recorded once its balance transaction is known."""

from app.services.stripe_fees.service import StripeFees
from app.services.stripe_fees.webhook_handlers import StripeFeeWebhookHandlers

__all__ = ["StripeFeeWebhookHandlers", "StripeFees"]
