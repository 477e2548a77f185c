"""Seller payouts: their statuses, what a seller may pay out, the refusals, and the ledger's part.

Pure: no I/O, no clock. A payout moves money from the seller's connected Stripe balance to their
bank. The ledger follows Stripe's word on the payout, read again at each event: `paid` moves
`seller:{id}:connected` to `world:bank` (entry `payout:{stripe payout}`), and a `failed` payout
that had been paid moves it back (`payout_failure:{stripe payout}`); a payout that fails before
it was paid never left the books.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry
from app.errors import InvalidRequest, ServiceError


class PayoutStatus(StrEnum):
    # Recorded here, not (yet) accepted by Stripe: the request's answer was lost, or is awaited.
    REQUESTED = "requested"
    # Stripe's own statuses.
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


# Money on its way to the seller's bank: requested here, or accepted by Stripe and not arrived.
ON_THE_WAY = (PayoutStatus.REQUESTED, PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT)


class PayoutOrigin(StrEnum):
    API = "api"  # requested through this service
    STRIPE = "stripe"  # made at Stripe directly (dashboard, payout schedule), learnt from its events


# Stripe's failure codes in words, for a payout Stripe failed without a message.
FAILURE_REASONS: Mapping[str, str] = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account does not accept this payout.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "The bank account does not accept payouts from Stripe.",
    "insufficient_funds": "The Stripe account did not hold enough to cover the payout.",
    "invalid_account_number": "The bank account number is not valid.",
    "invalid_currency": "The bank account cannot receive this currency.",
    "no_account": "No bank account could be found with these details.",
    "payouts_not_allowed": "Payouts are not enabled on the seller's Stripe account.",
    "balance_insufficient": "The Stripe account did not hold enough available funds.",
}
UNKNOWN_FAILURE = "The payout failed; the money is back on the seller's Stripe balance."


def failure_reason(code: str | None, message: str | None) -> str | None:
    """A sentence for a person: Stripe's own message, else the code's meaning."""
    if message:
        return message
    if code is None:
        return None
    return FAILURE_REASONS.get(code, UNKNOWN_FAILURE)


def payout_id(requester_id: str, idempotency_key: str) -> str:
    """Our id of a requested payout, from who asked and their `Idempotency-Key`: a request retried
    after a crash finds the same payout, and Stripe's key (`payout:{id}`) is the same too."""
    digest = hashlib.sha256(f"{requester_id}\n{idempotency_key}".encode()).hexdigest()
    return f"pyt_{digest[:24]}"


def outside_payout_id(stripe_payout_id: str) -> str:
    """Our id of a payout made at Stripe directly."""
    return f"pyt_{stripe_payout_id}"


def payable(available: int, owed_to_platform: int) -> int:
    """What a seller may pay out: the available Stripe balance, less what they owe the platform."""
    return max(0, available - owed_to_platform)


class SellerNotOnboarded(ServiceError):
    code = "seller_not_onboarded"
    status = 409
    title = "The seller has no Stripe account to pay out from yet"


class PayoutsDisabled(ServiceError):
    code = "payouts_disabled"
    status = 409
    title = "Stripe does not allow payouts from the seller's account now"


class PayoutsBlockedByDispute(ServiceError):
    code = "payouts_blocked_by_dispute"
    status = 409
    title = "The seller has an open dispute or chargeback; payouts wait until it is settled"
    members: ClassVar[Mapping[str, Any]] = {"open_disputes": int, "disputed_amount": int}


class PayoutInsufficientFunds(ServiceError):
    code = "insufficient_funds"
    status = 409
    title = "The payout is more than the seller may pay out now"
    members: ClassVar[Mapping[str, Any]] = {"payable": int, "currency": str}


class PayoutBelowMinimum(InvalidRequest):
    code = "payout_below_minimum"
    title = "The payout is under the minimum"
    members: ClassVar[Mapping[str, Any]] = {"minimum": int}


class UnsupportedPayoutCurrency(InvalidRequest):
    code = "unsupported_currency"
    title = "Payouts are not made in this currency"


def payout_amount(asked: int | None, can_pay: int, minimum: int, currency: str) -> int:
    """The amount to pay out: what was asked, or everything payable; refused under the minimum or
    beyond what is payable (the minimum first: a tiny payout is refused as tiny)."""
    amount = can_pay if asked is None else asked
    if asked is not None and asked < minimum:
        raise PayoutBelowMinimum(f"a payout is at least {minimum} minor units", minimum=minimum)
    if amount > can_pay or amount <= 0:
        raise PayoutInsufficientFunds(
            f"{amount} {currency} asked, {can_pay} {currency} may be paid out now",
            payable=can_pay,
            currency=currency,
        )
    if amount < minimum:
        raise PayoutBelowMinimum(
            f"everything payable ({amount} {currency}) is under the minimum of {minimum}", minimum=minimum
        )
    return amount


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Which of a payout's two entries are posted."""

    paid: bool = False
    failure: bool = False


def ledger_entries(
    seller_id: str,
    stripe_payout_id: str,
    amount: int,
    currency: str,
    status: PayoutStatus,
    posted: LedgerState,
) -> tuple[list[JournalEntry], LedgerState]:
    """The entries a payout needs now that Stripe says `status`, and the state after them.

    Paid: the money left the seller's connected balance for their bank. Failed after being paid:
    the bank sent it back. Stripe fails a payout only from pending, in transit or paid, and never
    pays a failed one, so these two are all there is, each at most once.
    """
    refs = {"seller": seller_id, "stripe_payout": stripe_payout_id}
    connected, bank = Accounts.seller_connected(seller_id), Accounts.BANK
    entries: list[JournalEntry] = []
    state = posted
    if status is PayoutStatus.PAID and not posted.paid:
        entries.append(
            entry(
                payout_entry_key(stripe_payout_id),
                EntryKind.PAYOUT,
                [Move(connected, bank, amount, currency)],
                **refs,
            )
        )
        state = LedgerState(paid=True, failure=posted.failure)
    if status is PayoutStatus.FAILED and posted.paid and not posted.failure:
        entries.append(
            entry(
                payout_failure_entry_key(stripe_payout_id),
                EntryKind.PAYOUT,
                [Move(bank, connected, amount, currency)],
                **refs,
            )
        )
        state = LedgerState(paid=True, failure=True)
    return entries, state


def payout_entry_key(stripe_payout_id: str) -> str:
    return f"payout:{stripe_payout_id}"


def payout_failure_entry_key(stripe_payout_id: str) -> str:
    return f"payout_failure:{stripe_payout_id}"


def list_key(created_at: datetime, object_id: str) -> str:
    """Creation time then id as one string: a list's order and its cursor in one field."""
    return f"{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{object_id}"
