"""Disputes' rules: a buyer's dispute of one seller's part of an order, and a card chargeback
(a Stripe dispute of the order's charge), their states, and who bears a chargeback. Pure.

A buyer's dispute freezes that seller's escrow (`held` → `disputed`) until an admin resolves it:
`refund_buyer`, `release_to_seller` or `split`. A chargeback mirrors Stripe's dispute: Stripe
takes the disputed amount (and its fee) from the platform's balance at once; the money comes
from where it is now:

- an escrow still holding the order's card money is frozen and gives that money up;
- money already transferred to a seller is taken back by reversing the seller's transfer, for
  the seller's share (what they were paid of it: at most their net); what their connected balance
  cannot cover is the platform's loss for now and the seller's debt, taken from their next
  releases first.

A chargeback won puts the money back where it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from app.errors import InvalidRequest, ServiceError


class DisputeKind(StrEnum):
    BUYER = "buyer"
    CHARGEBACK = "chargeback"


class DisputeReason(StrEnum):
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    OTHER = "other"


class DisputeStatus(StrEnum):
    # A buyer's dispute
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    RESOLVED_REFUND = "resolved_refund"
    RESOLVED_RELEASE = "resolved_release"
    RESOLVED_SPLIT = "resolved_split"
    # A chargeback, as Stripe has it (`under_review` is shared)
    NEEDS_RESPONSE = "needs_response"
    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WON = "won"
    LOST = "lost"
    WARNING_CLOSED = "warning_closed"


OPEN_STATUSES = frozenset(
    {
        DisputeStatus.OPEN,
        DisputeStatus.UNDER_REVIEW,
        DisputeStatus.NEEDS_RESPONSE,
        DisputeStatus.WARNING_NEEDS_RESPONSE,
        DisputeStatus.WARNING_UNDER_REVIEW,
    }
)


class Outcome(StrEnum):
    REFUND_BUYER = "refund_buyer"
    RELEASE_TO_SELLER = "release_to_seller"
    SPLIT = "split"


RESOLVED_AS = {
    Outcome.REFUND_BUYER: DisputeStatus.RESOLVED_REFUND,
    Outcome.RELEASE_TO_SELLER: DisputeStatus.RESOLVED_RELEASE,
    Outcome.SPLIT: DisputeStatus.RESOLVED_SPLIT,
}


def repeats_resolution(status: DisputeStatus, outcome: Outcome) -> bool:
    """Whether resolving a dispute already at `status` with `outcome` asks again for the decision
    taken (a retry, answered with that resolution) rather than for another one (refused)."""
    return RESOLVED_AS[outcome] is status


def chargeback_status(stripe_status: str) -> DisputeStatus:
    """Stripe's dispute status as ours; an inquiry's statuses are Stripe's too."""
    return DisputeStatus(stripe_status)


class DisputeAlreadyOpen(ServiceError):
    code = "dispute_already_open"
    status = 409
    title = "A dispute is already open on this seller's part of the order"


class DisputeWindowClosed(ServiceError):
    code = "dispute_window_closed"
    status = 409
    title = "This seller was paid too long ago for a dispute to be opened"


class DisputeNotOpen(ServiceError):
    code = "dispute_not_open"
    status = 409
    title = "The dispute is resolved or closed already"


class NotABuyerDispute(ServiceError):
    code = "chargeback_decided_by_stripe"
    status = 409
    title = "A chargeback is decided by the card network through Stripe, not resolved here"


class NotAChargeback(ServiceError):
    code = "not_a_chargeback"
    status = 409
    title = "Evidence goes to Stripe only for a chargeback"


class RefundAmountRequired(InvalidRequest):
    code = "refund_amount_required"
    title = "A split names the amount refunded (more than zero, less than what the escrow holds)"


class EvidenceTooLarge(ServiceError):
    code = "evidence_too_large"
    status = 413
    title = "The evidence file is larger than allowed"
    members: ClassVar[Mapping[str, Any]] = {"limit": int}


class EvidenceTypeNotAllowed(ServiceError):
    code = "evidence_type_not_allowed"
    status = 415
    title = "Evidence files of this type are not accepted"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def dispute_id_for(buyer_id: str, idempotency_key: str) -> str:
    """The same request (buyer and Idempotency-Key) always names the same dispute."""
    return f"dsp_{_digest(buyer_id, idempotency_key)}"


def submission_id_for(admin_id: str, idempotency_key: str) -> str:
    """One evidence submission to Stripe per admin request (its Idempotency-Key)."""
    return f"sub_{_digest(admin_id, idempotency_key)}"


def chargeback_id_for(stripe_dispute_id: str) -> str:
    return f"dsp_{_digest('chargeback', stripe_dispute_id)}"


def list_key(created_at: datetime, object_id: str) -> str:
    return f"{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{object_id}"


def fill_in_order(amount: int, capacities: Sequence[int]) -> list[int]:
    """`amount` spread over `capacities` in order, each filled before the next gets anything."""
    shares = []
    for capacity in capacities:
        share = min(amount, capacity)
        shares.append(share)
        amount -= share
    return shares


def seller_share(withdrawn: int, net: int) -> int:
    """What a paid seller bears of a chargeback of `withdrawn` of their escrow's card money: what
    they were paid of it, at most their net; the platform bears the rest (its fee)."""
    return min(withdrawn, net)


def chargeback_entry_key(balance_transaction_id: str) -> str:
    return f"chargeback:{balance_transaction_id}"


def recovery_entry_key(recovery_id: str) -> str:
    return f"recovery:{recovery_id}"


def recovery_id_for(dispute_id: str, seller_id: str) -> str:
    """One recovery per dispute and seller, so the keys of its reversals and repayment come
    from the dispute."""
    return f"rcv_{_digest(dispute_id, seller_id)}"


def repayment_entry_key(recovery_id: str) -> str:
    """What was taken back from a seller owed back to them (a chargeback won)."""
    return f"recovery_owed:{recovery_id}"


def repaid_entry_key(recovery_id: str) -> str:
    """What was owed back to a seller paid by its transfer."""
    return f"recovery_repaid:{recovery_id}"


def repayment_attempt_id(recovery_id: str, attempt: int) -> str:
    """The repayment transfer's id (and key); a new attempt after a refusal gets a new one,
    since Stripe replays a refusal under its key."""
    return f"{recovery_id}_repay_{attempt}"
