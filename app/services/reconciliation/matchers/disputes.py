"""Chargebacks: every balance transaction of a Stripe dispute (the withdrawal of the disputed
money with its dispute fee, and when won the money and fee given back) has its entry
`chargeback:{txn}` moving the same amount between the card network and the platform, and its fee
entry `stripe_fee:{txn}` for the same fee; and every chargeback entry has its balance
transaction. Amounts are signed as Stripe signs them for the platform: a withdrawal negative, a
reinstatement positive, a fee given back negative.

The disputes created in the window carry their balance transactions; then the chargeback entries
written in the window whose balance transaction that pass did not see (money given back for a
dispute opened before the window) are read from Stripe one by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import BalanceTransaction, Dispute, PaymentProvider
from app.domain.disputes import chargeback_entry_key
from app.domain.ledger import Accounts, EntryKind
from app.domain.reconciliation import Difference, Flow
from app.domain.stripe_fees import stripe_fee_key
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

ENTRY_MISSING = "chargeback_entry_missing"
TRANSACTION_MISSING = "chargeback_transaction_missing"
AMOUNT_MISMATCH = "chargeback_amount_mismatch"
FEE_MISMATCH = "chargeback_fee_mismatch"
SEEN = "dispute_transaction"
ENTRY_PREFIX = chargeback_entry_key("")


class DisputeMatcher:
    name = "disputes"
    balance_transaction_types = frozenset({"adjustment"})

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for moved in batches(self._transactions(context)):
            tally.stripe_objects += len(moved)
            await context.marks.mark(SEEN, (txn.id for _, txn in moved))
            keys = [key for _, txn in moved for key in (chargeback_entry_key(txn.id), stripe_fee_key(txn.id))]
            entries = await self._ledger.entries(keys)
            for dispute, txn in moved:
                differences = _compare(
                    txn,
                    entries.get(chargeback_entry_key(txn.id)),
                    entries.get(stripe_fee_key(txn.id)),
                    dispute.id,
                )
                if not differences:
                    tally.matched += 1
                for difference in differences:
                    yield difference
        written = self._ledger.entries_created(window.start, window.end, EntryKind.DISPUTE_LOSS, ENTRY_PREFIX)
        async for chargebacks in batches(written):
            tally.our_records += len(chargebacks)
            compared = await context.marks.seen(SEEN, (_transaction_id(entry) for entry in chargebacks))
            unseen = [entry for entry in chargebacks if _transaction_id(entry) not in compared]
            fees = await self._ledger.entries([stripe_fee_key(_transaction_id(entry)) for entry in unseen])
            for entry in unseen:
                txn_id = _transaction_id(entry)
                found = await found_or_none(self._provider.retrieve_balance_transaction(txn_id))
                if found is None:
                    yield _missing_at_stripe(entry)
                    continue
                stripe_dispute = entry.refs.get("stripe_dispute", "")
                for difference in _compare(found, entry, fees.get(stripe_fee_key(txn_id)), stripe_dispute):
                    yield difference

    async def _transactions(self, context: MatchContext) -> AsyncIterator[tuple[Dispute, BalanceTransaction]]:
        window = context.window
        async for dispute in self._provider.iter_disputes(window.start, window.end):
            for txn in dispute.balance_transactions:
                yield dispute, txn


def _transaction_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("balance_transaction") or entry.id.removeprefix(ENTRY_PREFIX)


def _into_platform(entry: JournalEntryRecord | None) -> int:
    """What a chargeback entry gave the platform from the card network (negative: took from it)."""
    if entry is None:
        return 0
    return sum(
        move.amount if move.source == Accounts.CARD else -move.amount
        for move in entry.moves
        if Accounts.CARD in (move.source, move.destination)
    )


def _fee(entry: JournalEntryRecord | None) -> int:
    """The fee a fee entry booked: positive when Stripe kept it, negative when it gave it back."""
    if entry is None:
        return 0
    return sum(
        move.amount if move.destination == Accounts.STRIPE_FEES else -move.amount for move in entry.moves
    )


def _compare(
    txn: BalanceTransaction,
    entry: JournalEntryRecord | None,
    fee: JournalEntryRecord | None,
    stripe_dispute: str,
) -> list[Difference]:
    """The chargeback entry against the balance transaction's amount, its fee entry against the
    fee; a transaction with neither entry is one difference, of what it moved net."""
    stripe_ids = {"balance_transaction": txn.id, "dispute": stripe_dispute}
    ours = {"entry": chargeback_entry_key(txn.id), "dispute": entry.refs.get("dispute", "") if entry else ""}
    if entry is None and fee is None:
        return [
            Difference(
                kind=ENTRY_MISSING,
                currency=txn.currency,
                expected=None,
                actual=txn.net,
                flow=Flow.INTO_PLATFORM,
                summary=f"Stripe moved {txn.net} {txn.currency} net for dispute {stripe_dispute} ({txn.id}: "
                f"{txn.amount}, fee {txn.fee}); the ledger has neither its chargeback entry nor its fee",
                stripe_ids=stripe_ids,
                our_ids=ours,
            )
        ]
    found: list[Difference] = []
    if _into_platform(entry) != txn.amount:
        found.append(
            Difference(
                kind=AMOUNT_MISMATCH,
                currency=txn.currency,
                expected=_into_platform(entry) if entry else None,
                actual=txn.amount,
                flow=Flow.INTO_PLATFORM,
                summary=f"Stripe moved {txn.amount} {txn.currency} for dispute {stripe_dispute} ({txn.id}); "
                f"the ledger's chargeback entry moved {_into_platform(entry)}",
                stripe_ids=stripe_ids,
                our_ids=ours,
            )
        )
    if _fee(fee) != txn.fee:
        found.append(
            Difference(
                kind=FEE_MISMATCH,
                currency=txn.currency,
                expected=_fee(fee) if fee else None,
                actual=txn.fee,
                flow=Flow.OUT_OF_PLATFORM,
                summary=f"Stripe's fee for dispute {stripe_dispute} ({txn.id}) is {txn.fee} {txn.currency}; "
                f"the ledger booked {_fee(fee)}",
                stripe_ids=stripe_ids,
                our_ids={**ours, "fee_entry": stripe_fee_key(txn.id)},
            )
        )
    return found


def _missing_at_stripe(entry: JournalEntryRecord) -> Difference:
    return Difference(
        kind=TRANSACTION_MISSING,
        currency=entry.moves[0].currency,
        expected=_into_platform(entry),
        actual=None,
        flow=Flow.INTO_PLATFORM,
        summary=f"the ledger moved {_into_platform(entry)} {entry.moves[0].currency} for balance "
        f"transaction {_transaction_id(entry)} of dispute {entry.refs.get('stripe_dispute', '')}, "
        "which Stripe does not have",
        stripe_ids={
            "balance_transaction": _transaction_id(entry),
            "dispute": entry.refs.get("stripe_dispute", ""),
        },
        our_ids={"entry": entry.id, "dispute": entry.refs.get("dispute", "")},
    )
