"""Top-ups: every succeeded platform PaymentIntent paying a top-up has its credit `topup:{pi}` of
the same amount and currency, and every such credit has its succeeded PaymentIntent.

Stripe's PaymentIntents created in the window are compared first, a page at a time, with their
credits (one read per page); then the credits written in the window whose PaymentIntent that
pass did not see (one created before the window, or none at all) are read from Stripe one by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import PaymentIntent, PaymentProvider
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.domain.wallet import TOPUP_PURPOSE, topup_entry_key
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

ENTRY_MISSING = "topup_entry_missing"
PAYMENT_MISSING = "topup_payment_missing"
AMOUNT_MISMATCH = "topup_amount_mismatch"
SEEN = "payment_intent"


class TopupMatcher:
    name = "topups"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        paid = (
            intent
            async for intent in self._provider.iter_payment_intents(window.start, window.end)
            if _pays_a_topup(intent)
        )
        async for intents in batches(paid):
            tally.stripe_objects += len(intents)
            await context.marks.mark(SEEN, (intent.id for intent in intents))
            credits = await self._ledger.entries([topup_entry_key(intent.id) for intent in intents])
            for intent in intents:
                difference = _compare(intent, credits.get(topup_entry_key(intent.id)))
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        credits_written = self._ledger.entries_created(window.start, window.end, EntryKind.TOPUP)
        async for entries in batches(credits_written):
            tally.our_records += len(entries)
            compared = await context.marks.seen(SEEN, (_intent_id(entry) for entry in entries))
            for entry in entries:
                if _intent_id(entry) in compared:
                    continue
                found = await found_or_none(self._provider.retrieve_payment_intent(_intent_id(entry)))
                difference = _compare(found if found and _pays_a_topup(found) else None, entry)
                if difference is not None:
                    yield difference


def _pays_a_topup(intent: PaymentIntent) -> bool:
    return intent.status == "succeeded" and intent.metadata.get("purpose") == TOPUP_PURPOSE


def _intent_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("payment_intent") or entry.id.removeprefix("topup:")


def _credited(entry: JournalEntryRecord) -> tuple[int, str]:
    return sum(move.amount for move in entry.moves), entry.moves[0].currency


def _compare(intent: PaymentIntent | None, entry: JournalEntryRecord | None) -> Difference | None:
    if intent is None and entry is None:
        return None
    if entry is None:
        assert intent is not None
        paid = intent.amount_received or intent.amount
        return Difference(
            kind=ENTRY_MISSING,
            currency=intent.currency,
            expected=None,
            actual=paid,
            flow=Flow.INTO_PLATFORM,
            summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency} for a top-up; "
            "the ledger has no credit for it",
            stripe_ids={"payment_intent": intent.id},
            our_ids={"topup": intent.metadata.get("topup_id", ""), "entry": topup_entry_key(intent.id)},
        )
    amount, currency = _credited(entry)
    ours = {"topup": entry.refs.get("topup", ""), "entry": entry.id}
    if intent is None:
        return Difference(
            kind=PAYMENT_MISSING,
            currency=currency,
            expected=amount,
            actual=None,
            flow=Flow.INTO_PLATFORM,
            summary=f"the ledger credited {amount} {currency} for PaymentIntent {_intent_id(entry)}, "
            "which Stripe does not have as a succeeded top-up payment",
            stripe_ids={"payment_intent": _intent_id(entry)},
            our_ids=ours,
        )
    paid = intent.amount_received or intent.amount
    if (paid, intent.currency) == (amount, currency):
        return None
    return Difference(
        kind=AMOUNT_MISMATCH,
        currency=intent.currency,
        expected=amount,
        actual=paid,
        flow=Flow.INTO_PLATFORM,
        summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency}; "
        f"the ledger credited {amount} {currency}",
        stripe_ids={"payment_intent": intent.id},
        our_ids=ours,
    )
