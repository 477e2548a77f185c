"""Seller balances and payouts: what a seller has earned (escrow, transfers, their connected
Stripe balance), payouts from that balance to their bank, and the ledger following Stripe's word
on each payout, made here or at Stripe directly."""

from app.domain.payouts import (
    PayoutBelowMinimum,
    PayoutInsufficientFunds,
    PayoutsBlockedByDispute,
    PayoutsDisabled,
    SellerNotOnboarded,
    UnsupportedPayoutCurrency,
)
from app.services.payouts.balances import SellerBalance, StripeFigures
from app.services.payouts.ports import (
    DisputeExposure,
    DisputeHold,
    EscrowHoldings,
    SellerDisputes,
)
from app.services.payouts.repository import INDEXES, PayoutPage, PayoutRecord
from app.services.payouts.service import Payouts
from app.services.payouts.webhook_handlers import PayoutWebhookHandlers

# What a payout request can refuse, for the route to declare (with the payment operation's errors).
PAYOUT_ERRORS = (
    UnsupportedPayoutCurrency,
    SellerNotOnboarded,
    PayoutsDisabled,
    PayoutsBlockedByDispute,
    PayoutInsufficientFunds,
    PayoutBelowMinimum,
)

__all__ = [
    "INDEXES",
    "PAYOUT_ERRORS",
    "DisputeExposure",
    "DisputeHold",
    "EscrowHoldings",
    "PayoutPage",
    "PayoutRecord",
    "PayoutWebhookHandlers",
    "Payouts",
    "SellerBalance",
    "SellerDisputes",
    "StripeFigures",
]
