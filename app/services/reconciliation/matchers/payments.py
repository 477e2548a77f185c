"""Platform payments by card, whatever they pay for: every succeeded platform PaymentIntent of a
purpose has its entry of the same amount and currency, and every such entry has its succeeded
PaymentIntent. Top-ups and checkouts are this check with their own purpose (`topups.py`,
`checkouts.py`).

Stripe's PaymentIntents created in the window are compared first, a page at a time, with their
entries (one read per page); then the entries written in the window whose PaymentIntent that pass
did not see (one created before the window, or none at all) are read from Stripe one by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from app.adapters.payment_provider import PaymentIntent, PaymentProvider
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none


@dataclass(frozen=True)
class PaymentPurpose:
    """What a kind of platform payment pays for, and how the books name its entry."""

    subject: str  # the discrepancies' kinds: `<subject>_entry_missing`, …
    purpose: str  # the PaymentIntent's `metadata.purpose`
    entry_key: Callable[[str], str]  # the entry of a PaymentIntent id
    entry_kind: EntryKind
    seen: str  # the run's marks namespace
    ours: str  # our record's ref on the entry (and `<ours>_id` in the PaymentIntent's metadata)
    paid_for: str  # "a top-up", "an order": for the summaries
    booked: str  # what the books did with the money: "credited", "took into escrow"

    def entry_missing(self) -> str:
        return f"{self.subject}_entry_missing"

    def payment_missing(self) -> str:
        return f"{self.subject}_payment_missing"

    def amount_mismatch(self) -> str:
        return f"{self.subject}_amount_mismatch"


class PaymentIntentMatcher:
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, name: str, paying: PaymentPurpose, provider: PaymentProvider, ledger: Ledger) -> None:
        self.name = name
        self._paying = paying
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window, paying = context.window, self._paying
        paid = (
            intent
            async for intent in self._provider.iter_payment_intents(window.start, window.end)
            if self._pays(intent)
        )
        async for intents in batches(paid):
            tally.stripe_objects += len(intents)
            await context.marks.mark(paying.seen, (intent.id for intent in intents))
            entries = await self._ledger.entries([paying.entry_key(intent.id) for intent in intents])
            for intent in intents:
                difference = self._compare(intent, entries.get(paying.entry_key(intent.id)))
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        written = self._ledger.entries_created(
            window.start, window.end, paying.entry_kind, paying.entry_key("")
        )
        async for booked in batches(written):
            tally.our_records += len(booked)
            compared = await context.marks.seen(paying.seen, (self._intent_id(entry) for entry in booked))
            for entry in booked:
                if self._intent_id(entry) in compared:
                    continue
                found = await found_or_none(self._provider.retrieve_payment_intent(self._intent_id(entry)))
                difference = self._compare(found if found and self._pays(found) else None, entry)
                if difference is not None:
                    yield difference

    def _pays(self, intent: PaymentIntent) -> bool:
        return intent.status == "succeeded" and intent.metadata.get("purpose") == self._paying.purpose

    def _intent_id(self, entry: JournalEntryRecord) -> str:
        return entry.refs.get("payment_intent") or entry.id.removeprefix(self._paying.entry_key(""))

    def _compare(self, intent: PaymentIntent | None, entry: JournalEntryRecord | None) -> Difference | None:
        paying = self._paying
        if intent is None and entry is None:
            return None
        if entry is None:
            assert intent is not None
            paid = intent.amount_received or intent.amount
            return Difference(
                kind=paying.entry_missing(),
                currency=intent.currency,
                expected=None,
                actual=paid,
                flow=Flow.INTO_PLATFORM,
                summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency} for {paying.paid_for}; "
                f"the ledger has no {paying.subject} entry for it",
                stripe_ids={"payment_intent": intent.id},
                our_ids={
                    paying.ours: intent.metadata.get(f"{paying.ours}_id", ""),
                    "entry": paying.entry_key(intent.id),
                },
            )
        amount, currency = sum(move.amount for move in entry.moves), entry.moves[0].currency
        ours = {paying.ours: entry.refs.get(paying.ours, ""), "entry": entry.id}
        if intent is None:
            return Difference(
                kind=paying.payment_missing(),
                currency=currency,
                expected=amount,
                actual=None,
                flow=Flow.INTO_PLATFORM,
                summary=f"the ledger {paying.booked} {amount} {currency} for PaymentIntent "
                f"{self._intent_id(entry)}, which Stripe does not have as a succeeded payment "
                f"for {paying.paid_for}",
                stripe_ids={"payment_intent": self._intent_id(entry)},
                our_ids=ours,
            )
        paid = intent.amount_received or intent.amount
        if (paid, intent.currency) == (amount, currency):
            return None
        return Difference(
            kind=paying.amount_mismatch(),
            currency=intent.currency,
            expected=amount,
            actual=paid,
            flow=Flow.INTO_PLATFORM,
            summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency} for {paying.paid_for} "
            f"{entry.refs.get(paying.ours, '')}; the ledger {paying.booked} {amount} {currency}",
            stripe_ids={"payment_intent": intent.id},
            our_ids=ours,
        )
