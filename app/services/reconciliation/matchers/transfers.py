"""Transfers to sellers: every transfer Stripe made from the platform has its entry moving the
same amount to the seller's connected account in the ledger (`transfer:{id}` for a release's
transfer, `recovery_repaid:{id}` for a chargeback won paid back), a release's transfer going to
the destination and with the transfer group (the order) we asked for; and every such entry has
its transfer at Stripe.

A release whose transfer is not made yet (waiting for the platform's funds or for the seller to
be able to receive) holds its money in `seller:{id}:pending_transfer`, which the platform balance
check counts as held there: it is not a difference. Reversals are `transfer_reversals`'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from app.adapters.payment_provider import PaymentProvider, Transfer
from app.domain.checkout import transfer_entry_key
from app.domain.disputes import repaid_entry_key
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Difference, Flow
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches, found_or_none

if TYPE_CHECKING:
    from app.services.checkout import SellerTransfer

ENTRY_MISSING = "transfer_entry_missing"
STRIPE_MISSING = "transfer_stripe_missing"
AMOUNT_MISMATCH = "transfer_amount_mismatch"
DESTINATION_MISMATCH = "transfer_destination_mismatch"
SEEN = "transfer"


class ReleaseTransfers(Protocol):
    async def many(self, transfer_ids: Sequence[str]) -> dict[str, SellerTransfer]: ...


class TransferMatcher:
    name = "transfers"
    balance_transaction_types = frozenset({"transfer"})

    def __init__(self, provider: PaymentProvider, ledger: Ledger, transfers: ReleaseTransfers) -> None:
        self._provider = provider
        self._ledger = ledger
        self._transfers = transfers

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for made in batches(self._provider.iter_transfers(window.start, window.end)):
            tally.stripe_objects += len(made)
            await context.marks.mark(SEEN, (transfer.id for transfer in made))
            entries = await self._ledger.entries([_entry_key(transfer) for transfer in made])
            ours = await self._transfers.many(
                [transfer.metadata["transfer_id"] for transfer in made if "transfer_id" in transfer.metadata]
            )
            for transfer in made:
                difference = _compare(transfer, entries.get(_entry_key(transfer)), ours)
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference
        written = self._ledger.entries_created(window.start, window.end, EntryKind.TRANSFER)
        async for booked in batches(written):
            tally.our_records += len(booked)
            compared = await context.marks.seen(SEEN, (_transfer_id(entry) for entry in booked))
            for entry in booked:
                if _transfer_id(entry) in compared:
                    continue
                found = await found_or_none(self._provider.retrieve_transfer(_transfer_id(entry)))
                difference = (
                    _missing_at_stripe(entry)
                    if found is None
                    else _compare(found, entry, await self._transfers.many(_release_transfer(entry)))
                )
                if difference is not None:
                    yield difference


def _entry_key(transfer: Transfer) -> str:
    """The entry our books hold for a transfer, named by what we put in its metadata."""
    if "recovery_id" in transfer.metadata:
        return repaid_entry_key(transfer.metadata["recovery_id"])
    return transfer_entry_key(transfer.metadata.get("transfer_id", transfer.id))


def _transfer_id(entry: JournalEntryRecord) -> str:
    return entry.refs.get("stripe_transfer", "")


def _release_transfer(entry: JournalEntryRecord) -> list[str]:
    return [entry.refs["transfer"]] if "transfer" in entry.refs else []


def _moved(entry: JournalEntryRecord) -> tuple[int, str]:
    return sum(move.amount for move in entry.moves), entry.moves[0].currency


def _our_ids(transfer: Transfer, entry: JournalEntryRecord | None) -> dict[str, str]:
    ours = {"entry": entry.id if entry else _entry_key(transfer)}
    for name in ("transfer_id", "recovery_id", "seller_id"):
        if name in transfer.metadata:
            ours[name.removesuffix("_id")] = transfer.metadata[name]
    return ours


def _compare(
    transfer: Transfer, entry: JournalEntryRecord | None, ours: Mapping[str, SellerTransfer]
) -> Difference | None:
    stripe_ids = {"transfer": transfer.id, "destination": transfer.destination or ""}
    if entry is not None and entry.refs.get("stripe_transfer", transfer.id) != transfer.id:
        entry = None  # the entry is another transfer's: this one has none
    if entry is None:
        return Difference(
            kind=ENTRY_MISSING,
            currency=transfer.currency,
            expected=None,
            actual=transfer.amount,
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"Stripe transferred {transfer.amount} {transfer.currency} to {transfer.destination} "
            f"({transfer.id}); the ledger has no entry for it",
            stripe_ids=stripe_ids,
            our_ids=_our_ids(transfer, None),
        )
    amount, currency = _moved(entry)
    if (transfer.amount, transfer.currency) != (amount, currency):
        return Difference(
            kind=AMOUNT_MISMATCH,
            currency=transfer.currency,
            expected=amount,
            actual=transfer.amount,
            flow=Flow.OUT_OF_PLATFORM,
            summary=f"Stripe transferred {transfer.amount} {transfer.currency} ({transfer.id}); "
            f"the ledger moved {amount} {currency} to the seller ({entry.id})",
            stripe_ids=stripe_ids,
            our_ids=_our_ids(transfer, entry),
        )
    release = ours.get(entry.refs.get("transfer", ""))
    if release is None or (transfer.destination, transfer.transfer_group) == (
        release.destination,
        release.order_id,
    ):
        return None
    return Difference(
        kind=DESTINATION_MISMATCH,
        currency=transfer.currency,
        expected=amount,
        actual=transfer.amount,
        flow=Flow.OUT_OF_PLATFORM,
        summary=f"transfer {transfer.id} went to {transfer.destination} in group {transfer.transfer_group}; "
        f"release transfer {release.id} was for {release.destination} in group {release.order_id}",
        stripe_ids={**stripe_ids, "transfer_group": transfer.transfer_group or ""},
        our_ids={**_our_ids(transfer, entry), "destination": release.destination or ""},
    )


def _missing_at_stripe(entry: JournalEntryRecord) -> Difference:
    amount, currency = _moved(entry)
    return Difference(
        kind=STRIPE_MISSING,
        currency=currency,
        expected=amount,
        actual=None,
        flow=Flow.OUT_OF_PLATFORM,
        summary=f"the ledger moved {amount} {currency} to seller {entry.refs.get('seller', '')} for "
        f"transfer {_transfer_id(entry)}, which Stripe does not have",
        stripe_ids={"transfer": _transfer_id(entry)},
        our_ids={"entry": entry.id, "seller": entry.refs.get("seller", "")},
    )
