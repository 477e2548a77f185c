"""Payouts, seller by seller: every payout Stripe holds on a seller's connected account is one of
our payout records, for the same amount, in the same status, and the ledger moved it to the bank
when Stripe paid it (`payout:{po}`) and back when the bank returned it (`payout_failure:{po}`);
and every payout we recorded with a Stripe id has its payout at Stripe.

Payouts leave connected accounts, not the platform's balance, so no difference here explains a
drift of it. A payout's later statuses (in transit, paid, failed at the bank) come from Stripe by
events: once those are handled, our records agree again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from app.adapters.payment_provider import PaymentProvider, Payout
from app.domain.payouts import PayoutStatus, payout_entry_key, payout_failure_entry_key
from app.domain.reconciliation import Difference, Flow
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import BATCH, MatchContext, Tally, batches, found_or_none

if TYPE_CHECKING:
    from app.services.payouts import PayoutRecord

RECORD_MISSING = "payout_record_missing"
STRIPE_MISSING = "payout_stripe_missing"
AMOUNT_MISMATCH = "payout_amount_mismatch"
STATUS_MISMATCH = "payout_status_mismatch"
ENTRY_MISMATCH = "payout_entry_mismatch"
SEEN = "payout"


class SellerAccounts(Protocol):
    async def sellers_with_accounts(self, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(seller id, connected account id) by seller id, after `after`."""
        ...


class PayoutRecords(Protocol):
    async def by_stripe_ids(self, stripe_payout_ids: Sequence[str]) -> dict[str, PayoutRecord]: ...

    def created_between(
        self, seller_id: str, start: datetime, end: datetime
    ) -> AsyncIterator[PayoutRecord]: ...


class PayoutMatcher:
    name = "payouts"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(
        self, provider: PaymentProvider, ledger: Ledger, accounts: SellerAccounts, payouts: PayoutRecords
    ) -> None:
        self._provider = provider
        self._ledger = ledger
        self._accounts = accounts
        self._payouts = payouts

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        async for seller, account in self._sellers():
            async for difference in self._of_seller(seller, account, context, tally):
                yield difference

    async def _sellers(self) -> AsyncIterator[tuple[str, str]]:
        """Every seller with their connected account, a page at a time."""
        after: str | None = None
        while page := await self._accounts.sellers_with_accounts(after, BATCH):
            for seller in page:
                yield seller
            after = page[-1][0]

    async def _of_seller(
        self, seller: str, account: str, context: MatchContext, tally: Tally
    ) -> AsyncIterator[Difference]:
        window = context.window
        at_stripe = self._provider.iter_payouts(window.start, window.end, account=account)
        async for payouts in batches(at_stripe):
            tally.stripe_objects += len(payouts)
            await context.marks.mark(SEEN, (payout.id for payout in payouts))
            ours = await self._payouts.by_stripe_ids([payout.id for payout in payouts])
            moved = await self._booked([payout.id for payout in payouts])
            for payout in payouts:
                difference = _compare(payout, ours.get(payout.id), moved[payout.id], seller)
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        recorded = (
            record
            async for record in self._payouts.created_between(seller, window.start, window.end)
            if record.stripe_payout_id is not None
        )
        async for records in batches(recorded):
            tally.our_records += len(records)
            compared = await context.marks.seen(SEEN, (_stripe_id(record) for record in records))
            unseen = [record for record in records if _stripe_id(record) not in compared]
            booked = await self._booked([_stripe_id(record) for record in unseen])
            for record in unseen:
                found = await found_or_none(self._provider.retrieve_payout(account, _stripe_id(record)))
                difference = (
                    _missing_at_stripe(record, booked[_stripe_id(record)])
                    if found is None
                    else _compare(found, record, booked[_stripe_id(record)], seller)
                )
                if difference is not None:
                    yield difference

    async def _booked(self, stripe_payout_ids: list[str]) -> dict[str, int]:
        """What the ledger moved to each payout's bank: paid, less what the bank sent back."""
        keys = [
            key for po in stripe_payout_ids for key in (payout_entry_key(po), payout_failure_entry_key(po))
        ]
        entries = await self._ledger.entries(keys)
        return {
            po: _amount(entries.get(payout_entry_key(po)))
            - _amount(entries.get(payout_failure_entry_key(po)))
            for po in stripe_payout_ids
        }


def _stripe_id(record: PayoutRecord) -> str:
    return record.stripe_payout_id or ""


def _amount(entry: JournalEntryRecord | None) -> int:
    return sum(move.amount for move in entry.moves) if entry else 0


def _at_bank(payout: Payout) -> int:
    """What a payout leaves at the seller's bank by Stripe's word: all of it once paid."""
    return payout.amount if payout.status == PayoutStatus.PAID else 0


def _compare(payout: Payout, record: PayoutRecord | None, booked: int, seller: str) -> Difference | None:
    stripe_ids = {"payout": payout.id, "status": payout.status}
    if record is None:
        return Difference(
            kind=RECORD_MISSING,
            currency=payout.currency,
            expected=None,
            actual=payout.amount,
            flow=Flow.SELLER_ACCOUNT,
            summary=f"Stripe holds payout {payout.id} of {payout.amount} {payout.currency} ({payout.status}) "
            f"from seller {seller}'s account; we have no record of it",
            stripe_ids=stripe_ids,
            our_ids={"seller": seller},
        )
    ours = {"payout": record.id, "seller": seller}
    if (payout.amount, payout.currency) != (record.amount, record.currency):
        return Difference(
            kind=AMOUNT_MISMATCH,
            currency=payout.currency,
            expected=record.amount,
            actual=payout.amount,
            flow=Flow.SELLER_ACCOUNT,
            summary=f"Stripe's payout {payout.id} is {payout.amount} {payout.currency}; "
            f"our payout {record.id} is {record.amount} {record.currency}",
            stripe_ids=stripe_ids,
            our_ids=ours,
        )
    if booked != _at_bank(payout):
        return Difference(
            kind=ENTRY_MISMATCH,
            currency=payout.currency,
            expected=booked,
            actual=_at_bank(payout),
            flow=Flow.SELLER_ACCOUNT,
            summary=f"Stripe's payout {payout.id} is {payout.status}, leaving {_at_bank(payout)} "
            f"{payout.currency} at the bank; the ledger moved {booked} there",
            stripe_ids=stripe_ids,
            our_ids=ours,
        )
    if str(record.status) == payout.status:
        return None
    return Difference(
        kind=STATUS_MISMATCH,
        currency=payout.currency,
        expected=record.amount,
        actual=payout.amount,
        flow=Flow.SELLER_ACCOUNT,
        summary=f"Stripe has payout {payout.id} {payout.status}; our payout {record.id} is {record.status}",
        stripe_ids=stripe_ids,
        our_ids={**ours, "status": str(record.status)},
    )


def _missing_at_stripe(record: PayoutRecord, booked: int) -> Difference:
    return Difference(
        kind=STRIPE_MISSING,
        currency=record.currency,
        expected=record.amount,
        actual=None,
        flow=Flow.SELLER_ACCOUNT,
        summary=f"our payout {record.id} of {record.amount} {record.currency} ({record.status}, {booked} "
        f"moved to the bank) names Stripe payout {record.stripe_payout_id}, which Stripe does not have",
        stripe_ids={"payout": _stripe_id(record)},
        our_ids={"payout": record.id, "seller": record.seller_id},
    )
