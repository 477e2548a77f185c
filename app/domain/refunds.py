"""Refunds' rules: which source of an escrow's money a refund gives back first, and the states
of a refund. Pure.

An escrow remembers how it was paid (legacy, wallet, card: `app.domain.checkout.Funding`) and
what was refunded from each source. A refund takes from the sources in order (card, then
wallet, then legacy, unless the admin names another order), each at most what that source still
has, so nothing is ever given back beyond what was paid, per source or in total.

The card part goes back through a Stripe Refund on the order's PaymentIntent, which Stripe runs
asynchronously: `pending`, then `succeeded` or `failed`. The wallet and legacy parts are ledger
moves, done at once.

Refunds come from the platform: from the escrow while it holds the money, and from the
platform's own money (`platform:fees`) once the seller was paid (the seller's share is taken back
from them apart, by the disputes domain).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar

from app.domain.checkout import EscrowStatus, Funding
from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry
from app.errors import InvalidRequest, ServiceError


class RefundSource(StrEnum):
    CARD = "card"
    WALLET = "wallet"
    LEGACY = "legacy"


DEFAULT_SOURCE_ORDER = (RefundSource.CARD, RefundSource.WALLET, RefundSource.LEGACY)

# An escrow in these statuses has paid its seller: it holds nothing any more.
PAID_OUT = frozenset({EscrowStatus.RELEASED, EscrowStatus.TRANSFERRED})


class RefundStatus(StrEnum):
    # The card part is with Stripe (or on its way there); the wallet parts are back already.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # Stripe refused or failed the card part: its money is back where it was, for an admin.
    FAILED = "failed"
    # A failed card part given to the buyer's wallet instead.
    RETRIED_TO_WALLET = "retried_to_wallet"


# Stripe's refund statuses that end a refund (`requires_action` and `pending` do not).
STRIPE_SUCCEEDED = "succeeded"
STRIPE_ENDED_UNPAID = frozenset({"failed", "canceled"})


class RefundExceedsPaid(ServiceError):
    code = "refund_exceeds_paid"
    status = 409
    title = "More than what is left of the payment (per source or in total) cannot be refunded"
    members: ClassVar[Mapping[str, Any]] = {"refundable": int}


class EscrowNotRefundable(ServiceError):
    code = "escrow_not_refundable"
    status = 409
    title = "This seller's part of the order cannot be refunded in its current state"
    members: ClassVar[Mapping[str, Any]] = {"escrow_status": str}


class RefundNotFailed(ServiceError):
    code = "refund_not_failed"
    status = 409
    title = "Only a refund whose card part failed can be given to the wallet instead"


class DuplicateRefundSource(InvalidRequest):
    code = "duplicate_refund_source"
    title = "A refund source is named twice"


def source_refund(remaining: Funding, amount: int, order: Sequence[RefundSource]) -> Funding:
    """Take `amount` from `remaining`, each source in `order` as far as it goes (a source not
    named is not touched); raises RefundExceedsPaid when the named sources hold less."""
    if len(set(order)) != len(order):
        raise DuplicateRefundSource("each of card, wallet and legacy may be named once")
    held = {
        RefundSource.CARD: remaining.card,
        RefundSource.WALLET: remaining.wallet,
        RefundSource.LEGACY: remaining.legacy,
    }
    refundable = sum(held[source] for source in order)
    if amount > refundable:
        raise RefundExceedsPaid(
            f"{amount} is more than the {refundable} these sources have left", refundable=refundable
        )
    taken: dict[RefundSource, int] = {}
    left = amount
    for source in order:
        taken[source] = min(left, held[source])
        left -= taken[source]
    return Funding(
        legacy=taken.get(RefundSource.LEGACY, 0),
        wallet=taken.get(RefundSource.WALLET, 0),
        card=taken.get(RefundSource.CARD, 0),
    )


def refund_paid_from(escrow_status: EscrowStatus, escrow_account: str) -> str:
    """The ledger account a refund of an escrow in `escrow_status` is paid from: the escrow's
    own while it holds the money, the platform's once the escrow has paid its seller."""
    return Accounts.PLATFORM_FEES if escrow_status in PAID_OUT else escrow_account


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def refund_id_for(*parts: str) -> str:
    """The same request (an admin and an Idempotency-Key, or a dispute's resolution) always names
    the same refund, even after a crash."""
    return f"rf_{_digest(*parts)}"


def wallet_refund_key(refund_id: str) -> str:
    return f"refund:{refund_id}"


def card_refund_key(refund_id: str) -> str:
    return f"refund_card:{refund_id}"


def card_refund_failed_key(refund_id: str) -> str:
    return f"refund_card_failed:{refund_id}"


def refund_to_wallet_key(refund_id: str) -> str:
    return f"refund_to_wallet:{refund_id}"


def card_refund_entry(
    refund_id: str, source_account: str, amount: int, currency: str, refs: Mapping[str, str]
) -> JournalEntry:
    """Stripe accepted the card part: it leaves the platform's balance for the card."""
    move = Move(source_account, Accounts.CARD, amount, currency)
    return entry(card_refund_key(refund_id), EntryKind.REFUND, [move], refund=refund_id, **refs)


def card_refund_failed_entry(
    refund_id: str, source_account: str, amount: int, currency: str, refs: Mapping[str, str]
) -> JournalEntry:
    """The card part failed after Stripe accepted it: Stripe gave it back to the platform's balance,
    and it is back where it was taken from."""
    move = Move(Accounts.CARD, source_account, amount, currency)
    return entry(card_refund_failed_key(refund_id), EntryKind.REFUND, [move], refund=refund_id, **refs)


def refund_to_wallet_entry(
    refund_id: str, source_account: str, buyer_id: str, amount: int, currency: str, refs: Mapping[str, str]
) -> JournalEntry:
    """A failed card part given to the buyer's wallet instead."""
    move = Move(source_account, Accounts.buyer_wallet(buyer_id), amount, currency)
    return entry(refund_to_wallet_key(refund_id), EntryKind.REFUND, [move], refund=refund_id, **refs)
