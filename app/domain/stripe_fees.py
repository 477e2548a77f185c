"""Stripe's fees in the books. Pure.

Stripe keeps a fee from every charge (and from every chargeback): the platform receives the
charge less the fee, while the buyer is credited the whole charge. Each fee is its own entry
`platform:fees -> world:stripe_fees`, keyed by the balance transaction that carries it, so it is
recorded once whichever event reports it first.
"""

from __future__ import annotations

from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry


def stripe_fee_key(balance_transaction_id: str) -> str:
    return f"stripe_fee:{balance_transaction_id}"


def stripe_fee_entry(
    balance_transaction_id: str, fee: int, currency: str, *, charge: str | None, payment_intent: str | None
) -> JournalEntry:
    """The entry of a fee (positive, minor units) Stripe kept from `charge`."""
    refs = {"balance_transaction": balance_transaction_id}
    if charge is not None:
        refs["charge"] = charge
    if payment_intent is not None:
        refs["payment_intent"] = payment_intent
    move = Move(Accounts.PLATFORM_FEES, Accounts.STRIPE_FEES, fee, currency)
    return entry(stripe_fee_key(balance_transaction_id), EntryKind.STRIPE_FEE, [move], **refs)


def stripe_fee_refund_entry(
    balance_transaction_id: str, fee: int, currency: str, *, charge: str | None
) -> JournalEntry:
    """A fee Stripe gave back (a chargeback won refunds its dispute fee): the other way."""
    refs = {"balance_transaction": balance_transaction_id}
    if charge is not None:
        refs["charge"] = charge
    move = Move(Accounts.STRIPE_FEES, Accounts.PLATFORM_FEES, fee, currency)
    return entry(stripe_fee_key(balance_transaction_id), EntryKind.STRIPE_FEE, [move], **refs)
