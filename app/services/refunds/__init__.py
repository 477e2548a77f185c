"""Refunds: money given back to a buyer from an escrow, each part to its source (the card by a
Stripe Refund, the wallet and legacy balances by ledger moves), never more than was paid."""

from app.domain.refunds import (
    DuplicateRefundSource,
    EscrowNotRefundable,
    RefundExceedsPaid,
    RefundNotFailed,
    RefundSource,
    RefundStatus,
)
from app.services.refunds.repository import INDEXES, RefundPage, RefundRecord
from app.services.refunds.service import AlongRefund, RefundRequest, Refunds
from app.services.refunds.webhook_handlers import RefundWebhookHandlers

# What refunding an escrow can refuse, for the routes to declare (besides payment operations').
REFUND_ERRORS = (EscrowNotRefundable, RefundExceedsPaid, DuplicateRefundSource)

__all__ = [
    "INDEXES",
    "REFUND_ERRORS",
    "AlongRefund",
    "EscrowNotRefundable",
    "RefundNotFailed",
    "RefundPage",
    "RefundRecord",
    "RefundRequest",
    "RefundSource",
    "RefundStatus",
    "RefundWebhookHandlers",
    "Refunds",
]
