"""Refunds to cards: every refund Stripe holds on the platform is one of ours (its metadata names
our refund), in the same state, and the ledger sent out what Stripe sent: its amount while the
refund stands, nothing once it failed (`refund_card:{id}` less `refund_card_failed:{id}`); and
every card refund booked has its refund at Stripe.

A refund's failure comes from Stripe later, asynchronously: once its event is handled our record
and the ledger agree with Stripe again, so a run after the day's events are processed finds
nothing. The wallet and legacy parts of a refund never reach Stripe and are not compared here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol

from app.adapters.payment_provider import PaymentProvider, Refund
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.domain.refunds import (
    STRIPE_ENDED_UNPAID,
    STRIPE_SUCCEEDED,
    RefundStatus,
    card_refund_failed_key,
    card_refund_key,
)
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

if TYPE_CHECKING:
    from app.services.refunds import RefundRecord

RECORD_MISSING = "refund_record_missing"
STRIPE_MISSING = "refund_stripe_missing"
AMOUNT_MISMATCH = "refund_amount_mismatch"
STATUS_MISMATCH = "refund_status_mismatch"
SEEN = "refund"
CARD_PREFIXES = (card_refund_key(""), card_refund_failed_key(""))
# Our statuses that agree with each of Stripe's.
AGREEING = {
    STRIPE_SUCCEEDED: frozenset({RefundStatus.SUCCEEDED}),
    **{
        ended: frozenset({RefundStatus.FAILED, RefundStatus.RETRIED_TO_WALLET})
        for ended in STRIPE_ENDED_UNPAID
    },
}
UNDER_WAY = frozenset({RefundStatus.PENDING})


class RefundRecords(Protocol):
    async def many(self, refund_ids: Sequence[str]) -> dict[str, RefundRecord]: ...


class RefundMatcher:
    name = "refunds"
    balance_transaction_types = frozenset({"refund", "refund_failure", "payment_refund"})

    def __init__(self, provider: PaymentProvider, ledger: Ledger, refunds: RefundRecords) -> None:
        self._provider = provider
        self._ledger = ledger
        self._refunds = refunds

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for refunds in batches(self._provider.iter_refunds(window.start, window.end)):
            tally.stripe_objects += len(refunds)
            ids = [refund.metadata["refund_id"] for refund in refunds if "refund_id" in refund.metadata]
            await context.marks.mark(SEEN, ids)
            async for refund, ours, sent in self._with_ours(refunds, ids):
                difference = _compare(refund, ours, sent)
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        written = self._ledger.entries_created(window.start, window.end, EntryKind.REFUND, *CARD_PREFIXES)
        async for entries in batches(written):
            tally.our_records += len(entries)
            currencies = {entry.refs.get("refund", ""): entry.moves[0].currency for entry in entries}
            unseen = sorted(set(currencies) - await context.marks.seen(SEEN, list(currencies)))
            records = await self._refunds.many(unseen)
            booked = await self._booked(unseen)
            for refund_id in unseen:
                record = records.get(refund_id)
                stripe_id = record.stripe_refund_id if record else None
                found = await found_or_none(self._provider.retrieve_refund(stripe_id)) if stripe_id else None
                if found is None:
                    yield _missing_at_stripe(refund_id, stripe_id, booked[refund_id], currencies[refund_id])
                    continue
                difference = _compare(found, record, booked[refund_id])
                if difference is not None:
                    yield difference

    async def _with_ours(
        self, refunds: list[Refund], ids: list[str]
    ) -> AsyncIterator[tuple[Refund, RefundRecord | None, int]]:
        """Each Stripe refund with our record of it and what the ledger sent out for it."""
        records = await self._refunds.many(ids)
        booked = await self._booked(ids)
        for refund in refunds:
            refund_id = refund.metadata.get("refund_id", "")
            yield refund, records.get(refund_id), booked.get(refund_id, 0)

    async def _booked(self, refund_ids: list[str]) -> dict[str, int]:
        """What the ledger sent to the card for each refund: its card part, less what came back."""
        keys = [
            key
            for refund_id in refund_ids
            for key in (card_refund_key(refund_id), card_refund_failed_key(refund_id))
        ]
        entries = await self._ledger.entries(keys)
        return {
            refund_id: _amount(entries.get(card_refund_key(refund_id)))
            - _amount(entries.get(card_refund_failed_key(refund_id)))
            for refund_id in refund_ids
        }


def _amount(entry: JournalEntryRecord | None) -> int:
    return sum(move.amount for move in entry.moves) if entry else 0


def _sent(refund: Refund) -> int:
    """What Stripe sends to the card for a refund: all of it, unless it failed or was canceled."""
    return 0 if refund.status in STRIPE_ENDED_UNPAID else refund.amount


def _compare(refund: Refund, record: RefundRecord | None, booked: int) -> Difference | None:
    stripe_ids = {"refund": refund.id, "payment_intent": refund.payment_intent or ""}
    if record is None:
        return Difference(
            kind=RECORD_MISSING,
            currency=refund.currency,
            expected=None,
            actual=_sent(refund),
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"Stripe refunded {refund.amount} {refund.currency} ({refund.id}, {refund.status}); "
            "we have no record of that refund",
            stripe_ids=stripe_ids,
            our_ids={"refund": refund.metadata.get("refund_id", "")},
        )
    ours = {"refund": record.id, "order": record.order_id}
    if booked != _sent(refund) or refund.currency != record.currency:
        return Difference(
            kind=AMOUNT_MISMATCH,
            currency=refund.currency,
            expected=booked,
            actual=_sent(refund),
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"Stripe sent {_sent(refund)} {refund.currency} to the card for refund {refund.id} "
            f"({refund.status}); the ledger sent {booked} {record.currency} for refund {record.id}",
            stripe_ids=stripe_ids,
            our_ids=ours,
        )
    if record.status in AGREEING.get(refund.status or "", UNDER_WAY):
        return None
    return Difference(
        kind=STATUS_MISMATCH,
        currency=refund.currency,
        expected=booked,
        actual=_sent(refund),
        flow=Flow.OUT_OF_PLATFORM,
        summary=f"Stripe has refund {refund.id} {refund.status}; our refund {record.id} is {record.status}",
        stripe_ids={**stripe_ids, "status": refund.status or ""},
        our_ids={**ours, "status": str(record.status)},
    )


def _missing_at_stripe(refund_id: str, stripe_id: str | None, booked: int, currency: str) -> Difference:
    return Difference(
        kind=STRIPE_MISSING,
        currency=currency,
        expected=booked,
        actual=None,
        flow=Flow.OUT_OF_PLATFORM,
        summary=f"the ledger sent {booked} {currency} to the card for refund {refund_id}, "
        "which Stripe does not have",
        stripe_ids={"refund": stripe_id or ""},
        our_ids={"refund": refund_id},
    )
