"""Checkouts: every succeeded platform PaymentIntent paying an order has its card entry
`checkout_card:{pi}` of the same amount and currency, and every such entry has its succeeded
PaymentIntent. What the wallet paid (`checkout:{order}`) never reaches Stripe and is not compared
here; the legacy part of it is the reserve check's.

As for top-ups: Stripe's PaymentIntents created in the window a page at a time against their
entries, then the entries written in the window whose PaymentIntent that pass did not see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import PaymentIntent, PaymentProvider
from app.domain.checkout import CHECKOUT_PURPOSE, card_entry_key
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

ENTRY_MISSING = "checkout_entry_missing"
PAYMENT_MISSING = "checkout_payment_missing"
AMOUNT_MISMATCH = "checkout_amount_mismatch"
SEEN = "checkout_payment_intent"
CARD_ENTRY_PREFIX = card_entry_key("")


class CheckoutMatcher:
    name = "checkouts"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        paid = (
            intent
            async for intent in self._provider.iter_payment_intents(window.start, window.end)
            if _pays_an_order(intent)
        )
        async for intents in batches(paid):
            tally.stripe_objects += len(intents)
            await context.marks.mark(SEEN, (intent.id for intent in intents))
            entries = await self._ledger.entries([card_entry_key(intent.id) for intent in intents])
            for intent in intents:
                difference = _compare(intent, entries.get(card_entry_key(intent.id)))
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        written = (
            entry
            async for entry in self._ledger.entries_created(window.start, window.end, EntryKind.CHECKOUT)
            if entry.id.startswith(CARD_ENTRY_PREFIX)
        )
        async for booked in batches(written):
            tally.our_records += len(booked)
            compared = await context.marks.seen(SEEN, (_intent_id(entry) for entry in booked))
            for entry in booked:
                if _intent_id(entry) in compared:
                    continue
                found = await found_or_none(self._provider.retrieve_payment_intent(_intent_id(entry)))
                difference = _compare(found if found and _pays_an_order(found) else None, entry)
                if difference is not None:
                    yield difference


def _pays_an_order(intent: PaymentIntent) -> bool:
    return intent.status == "succeeded" and intent.metadata.get("purpose") == CHECKOUT_PURPOSE


def _intent_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("payment_intent") or entry.id.removeprefix(CARD_ENTRY_PREFIX)


def _paid_in(entry: JournalEntryRecord) -> tuple[int, str]:
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
            summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency} for an order; "
            "the ledger has no checkout entry for it",
            stripe_ids={"payment_intent": intent.id},
            our_ids={"order": intent.metadata.get("order_id", ""), "entry": card_entry_key(intent.id)},
        )
    amount, currency = _paid_in(entry)
    ours = {"order": entry.refs.get("order", ""), "entry": entry.id}
    if intent is None:
        return Difference(
            kind=PAYMENT_MISSING,
            currency=currency,
            expected=amount,
            actual=None,
            flow=Flow.INTO_PLATFORM,
            summary=f"the ledger took {amount} {currency} into escrow for PaymentIntent "
            f"{_intent_id(entry)}, which Stripe does not have as a succeeded order payment",
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
        summary=f"PaymentIntent {intent.id} paid {paid} {intent.currency} for order "
        f"{entry.refs.get('order', '')}; the ledger took {amount} {currency} into escrow",
        stripe_ids={"payment_intent": intent.id},
        our_ids=ours,
    )
