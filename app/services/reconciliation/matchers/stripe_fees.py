"""Stripe's fees: every fee Stripe kept from a platform charge (its balance transaction's `fee`)
is booked once as `stripe_fee:{txn}` for the same amount, and every fee booked has its balance
transaction. A charge's gross is the PaymentIntent matchers' (top-ups, checkouts): this one
accounts for the charge's fee, so the charge balance transactions are its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import BalanceTransaction, PaymentProvider
from app.domain.ledger import Accounts, EntryKind
from app.domain.reconciliation import Difference, Flow
from app.domain.stripe_fees import stripe_fee_key
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

ENTRY_MISSING = "stripe_fee_entry_missing"
AMOUNT_MISMATCH = "stripe_fee_amount_mismatch"
TRANSACTION_MISSING = "stripe_fee_transaction_missing"
CHARGE_TYPES = frozenset({"charge", "payment"})
SEEN = "balance_transaction"


class StripeFeeMatcher:
    name = "stripe_fees"
    balance_transaction_types = CHARGE_TYPES

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        charged = (
            txn
            async for txn in self._provider.iter_balance_transactions(window.start, window.end)
            if txn.type in CHARGE_TYPES and txn.fee > 0
        )
        async for transactions in batches(charged):
            tally.stripe_objects += len(transactions)
            await context.marks.mark(SEEN, (txn.id for txn in transactions))
            fees = await self._ledger.entries([stripe_fee_key(txn.id) for txn in transactions])
            for txn in transactions:
                difference = _compare(txn, fees.get(stripe_fee_key(txn.id)))
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        booked = self._ledger.entries_created(window.start, window.end, EntryKind.STRIPE_FEE)
        async for entries in batches(booked):
            tally.our_records += len(entries)
            compared = await context.marks.seen(SEEN, (_transaction_id(entry) for entry in entries))
            for entry in entries:
                if _transaction_id(entry) in compared:
                    continue
                found = await found_or_none(
                    self._provider.retrieve_balance_transaction(_transaction_id(entry))
                )
                if found is not None and found.type not in CHARGE_TYPES:
                    continue  # a dispute's fee: the disputes matcher compares it, signed
                difference = _compare(found, entry)
                if difference is not None:
                    yield difference


def _transaction_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("balance_transaction") or entry.id.removeprefix("stripe_fee:")


def _booked(entry: JournalEntryRecord) -> int:
    """The fee an entry books, signed as Stripe's `fee` is: negative for a fee Stripe gave back
    (a chargeback won returns its dispute fee, `stripe_fee_refund_entry`)."""
    move = entry.moves[0]
    return move.amount if move.source == Accounts.PLATFORM_FEES else -move.amount


def _compare(txn: BalanceTransaction | None, entry: JournalEntryRecord | None) -> Difference | None:
    if txn is None and entry is None:
        return None
    if entry is None:
        assert txn is not None
        return Difference(
            kind=ENTRY_MISSING,
            currency=txn.currency,
            expected=None,
            actual=txn.fee,
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"Stripe kept a fee of {txn.fee} {txn.currency} ({txn.id}); the ledger has no fee entry",
            stripe_ids={"balance_transaction": txn.id, "charge": txn.source or ""},
            our_ids={"entry": stripe_fee_key(txn.id)},
        )
    booked, currency = _booked(entry), entry.moves[0].currency
    ours = {"entry": entry.id}
    if txn is None:
        return Difference(
            kind=TRANSACTION_MISSING,
            currency=currency,
            expected=booked,
            actual=None,
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"the ledger booked a fee of {booked} {currency} for balance transaction "
            f"{_transaction_id(entry)}, which Stripe does not have",
            stripe_ids={
                "balance_transaction": _transaction_id(entry),
                "charge": entry.refs.get("charge", ""),
            },
            our_ids=ours,
        )
    if (txn.fee, txn.currency) == (booked, currency):
        return None
    return Difference(
        kind=AMOUNT_MISMATCH,
        currency=txn.currency,
        expected=booked,
        actual=txn.fee,
        flow=Flow.OUT_OF_PLATFORM,
        summary=f"Stripe kept a fee of {txn.fee} {txn.currency} ({txn.id}); "
        f"the ledger booked {booked} {currency}",
        stripe_ids={"balance_transaction": txn.id, "charge": txn.source or ""},
        our_ids=ours,
    )
