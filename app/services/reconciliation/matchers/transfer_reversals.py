"""Transfer reversals: every reversal Stripe made of a transfer to a seller has its entry
`recovery:{reversal}` taking the same amount back from the seller's connected account, and every
such entry has its reversal at Stripe.

Stripe lists reversals per transfer: the transfers created in the window that were reversed are
read, and their reversals compared a page at a time; then the entries written in the window whose
reversal that pass did not see (a reversal of an older transfer) are read from Stripe one by one,
under the transfer the entry names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import PaymentProvider, TransferReversal
from app.domain.disputes import recovery_entry_key
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

ENTRY_MISSING = "transfer_reversal_entry_missing"
STRIPE_MISSING = "transfer_reversal_stripe_missing"
AMOUNT_MISMATCH = "transfer_reversal_amount_mismatch"
SEEN = "transfer_reversal"
ENTRY_PREFIX = recovery_entry_key("")


class TransferReversalMatcher:
    name = "transfer_reversals"
    balance_transaction_types = frozenset({"transfer_cancel", "transfer_refund"})

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for reversals in batches(self._reversals(context)):
            tally.stripe_objects += len(reversals)
            await context.marks.mark(SEEN, (reversal.id for reversal in reversals))
            entries = await self._ledger.entries([_entry_key(reversal) for reversal in reversals])
            for reversal in reversals:
                difference = _compare(reversal, entries.get(_entry_key(reversal)))
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        written = self._ledger.entries_created(window.start, window.end, EntryKind.DISPUTE_LOSS, ENTRY_PREFIX)
        async for booked in batches(written):
            tally.our_records += len(booked)
            compared = await context.marks.seen(SEEN, (_reversal_id(entry) for entry in booked))
            for entry in booked:
                if _reversal_id(entry) in compared:
                    continue
                found = await found_or_none(
                    self._provider.retrieve_transfer_reversal(
                        entry.refs.get("stripe_transfer", ""), _reversal_id(entry)
                    )
                )
                difference = _missing_at_stripe(entry) if found is None else _compare(found, entry)
                if difference is not None:
                    yield difference

    async def _reversals(self, context: MatchContext) -> AsyncIterator[TransferReversal]:
        """The reversals of the transfers created in the window, one transfer's page at a time."""
        window = context.window
        async for transfer in self._provider.iter_transfers(window.start, window.end):
            if transfer.amount_reversed:
                async for reversal in self._provider.iter_transfer_reversals(transfer.id):
                    yield reversal


def _entry_key(reversal: TransferReversal) -> str:
    return recovery_entry_key(reversal.metadata.get("reversal_id", reversal.id))


def _reversal_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("stripe_reversal", "")


def _taken_back(entry: JournalEntryRecord) -> tuple[int, str]:
    return sum(move.amount for move in entry.moves), entry.moves[0].currency


def _compare(reversal: TransferReversal, entry: JournalEntryRecord | None) -> Difference | None:
    stripe_ids = {"transfer_reversal": reversal.id, "transfer": reversal.transfer}
    if entry is not None and _reversal_id(entry) not in ("", reversal.id):
        entry = None  # the entry is another reversal's: this one has none
    if entry is None:
        return Difference(
            kind=ENTRY_MISSING,
            currency=reversal.currency,
            expected=None,
            actual=reversal.amount,
            flow=Flow.INTO_PLATFORM,
            summary=f"Stripe reversed {reversal.amount} {reversal.currency} of transfer {reversal.transfer} "
            f"({reversal.id}); the ledger has no entry taking it back from the seller",
            stripe_ids=stripe_ids,
            our_ids={"entry": _entry_key(reversal)},
        )
    amount, currency = _taken_back(entry)
    if (reversal.amount, reversal.currency) == (amount, currency):
        return None
    return Difference(
        kind=AMOUNT_MISMATCH,
        currency=reversal.currency,
        expected=amount,
        actual=reversal.amount,
        flow=Flow.INTO_PLATFORM,
        summary=f"Stripe reversed {reversal.amount} {reversal.currency} of transfer {reversal.transfer} "
        f"({reversal.id}); the ledger took {amount} {currency} back from the seller ({entry.id})",
        stripe_ids=stripe_ids,
        our_ids={
            "entry": entry.id,
            "seller": entry.refs.get("seller", ""),
            "dispute": entry.refs.get("dispute", ""),
        },
    )


def _missing_at_stripe(entry: JournalEntryRecord) -> Difference:
    amount, currency = _taken_back(entry)
    return Difference(
        kind=STRIPE_MISSING,
        currency=currency,
        expected=amount,
        actual=None,
        flow=Flow.INTO_PLATFORM,
        summary=f"the ledger took {amount} {currency} back from seller {entry.refs.get('seller', '')} for "
        f"reversal {_reversal_id(entry)}, which Stripe does not have",
        stripe_ids={
            "transfer_reversal": _reversal_id(entry),
            "transfer": entry.refs.get("stripe_transfer", ""),
        },
        our_ids={
            "entry": entry.id,
            "seller": entry.refs.get("seller", ""),
            "dispute": entry.refs.get("dispute", ""),
        },
    )
