"""What a payment operation is at the provider, and where it stands. Pure."""

from __future__ import annotations

from enum import StrEnum


class OperationKind(StrEnum):
    """What an operation does at the provider; also the prefix of its idempotency key."""

    ACCOUNT = "account"
    CHECKOUT = "checkout"
    TOPUP = "topup"
    CANCEL_PAYMENT_INTENT = "cancel_payment_intent"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    REFUND = "refund"
    PAYOUT = "payout"
    DISPUTE_EVIDENCE = "dispute_evidence"
    DISPUTE_CLOSE = "dispute_close"


class OperationStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"


# Statuses a dispute leaves once the platform has answered it.
ANSWERED_DISPUTE_STATUSES = frozenset(
    {"under_review", "warning_under_review", "won", "lost", "warning_closed"}
)
