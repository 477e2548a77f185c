"""Legacy money against the reserve: every use of legacy wallet money (an entry taking it from a
`buyer:*:legacy` account) has its reserve adjustment `{entry}:reserve` moving the same amount from
`world:legacy_reserve` to `world:legacy_reserve_funding`, every refund of legacy money the
adjustment moving it back, and every reserve adjustment has the entry it adjusts for. Both sides
are the ledger's own entries: this check reads no Stripe object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from app.domain.ledger import Accounts, EntryKind
from app.domain.reconciliation import Difference, Flow
from app.domain.wallet import reserve_adjustment_key
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.reconciliation.matching import MatchContext, Tally, batches

ADJUSTMENT_MISSING = "reserve_adjustment_missing"
ADJUSTMENT_MISMATCH = "reserve_adjustment_mismatch"
ADJUSTMENT_ORPHAN = "reserve_adjustment_orphan"
# Entries that move legacy money without being a use or a refund of it.
NOT_WALLET_MOVES = frozenset({EntryKind.MIGRATION, EntryKind.RESERVE_ADJUSTMENT, EntryKind.ADJUSTMENT})


class LegacyReserveMatcher:
    name = "legacy_reserve"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for entries in batches(self._ledger.entries_created(window.start, window.end)):
            tally.our_records += len(entries)
            async for difference in self._check_uses(entries, tally):
                yield difference
            async for difference in self._check_adjustments(entries, window.start, tally):
                yield difference

    async def _check_uses(self, entries: list[JournalEntryRecord], tally: Tally) -> AsyncIterator[Difference]:
        """Each use or refund of legacy money in `entries` against its reserve adjustment."""
        legacy = {entry.id: _legacy_part(entry) for entry in entries if entry.kind not in NOT_WALLET_MOVES}
        moved = {key: part for key, part in legacy.items() if part[0]}
        adjustments = await self._ledger.entries([reserve_adjustment_key(key) for key in moved])
        for key, (amount, currency, user) in moved.items():
            adjustment = adjustments.get(reserve_adjustment_key(key))
            difference = _compare(key, amount, currency, user, adjustment)
            if difference is None:
                tally.matched += 1
            else:
                yield difference

    async def _check_adjustments(
        self, entries: list[JournalEntryRecord], window_start: datetime, tally: Tally
    ) -> AsyncIterator[Difference]:
        """The reserve adjustments in `entries` whose entry is not among them: an orphan when the
        ledger has no such entry, compared here when that entry is from before the window (one in
        the window is compared in its own batch)."""
        in_batch = {entry.id for entry in entries}
        elsewhere = {
            adjustment.refs.get("entry", ""): adjustment
            for adjustment in entries
            if adjustment.kind is EntryKind.RESERVE_ADJUSTMENT
            and adjustment.refs.get("entry") not in in_batch
        }
        adjusted = await self._ledger.entries(list(elsewhere))
        for key, adjustment in elsewhere.items():
            entry = adjusted.get(key)
            if entry is None:
                yield _orphan(adjustment)
            elif entry.created_at < window_start:
                amount, currency, user = _legacy_part(entry)
                difference = _compare(key, amount, currency, user, adjustment)
                if difference is None:
                    tally.matched += 1
                else:
                    yield difference


def _legacy_part(entry: JournalEntryRecord) -> tuple[int, str, str]:
    """The legacy money the entry moves: positive when it uses it, negative when it gives it back;
    its currency and the buyer."""
    amount, currency, user = 0, "", ""
    for move in entry.moves:
        for account, sign in ((move.source, 1), (move.destination, -1)):
            if account.startswith("buyer:") and account.endswith(":legacy"):
                amount += sign * move.amount
                currency, user = move.currency, account.removeprefix("buyer:").removesuffix(":legacy")
    return amount, currency, user


def _adjusted(adjustment: JournalEntryRecord) -> int:
    """What a reserve adjustment moved: positive into the funding (a use), negative out (a refund)."""
    return sum(
        move.amount if move.destination == Accounts.RESERVE_FUNDING else -move.amount
        for move in adjustment.moves
        if Accounts.RESERVE_FUNDING in (move.source, move.destination)
    )


def _compare(
    key: str, amount: int, currency: str, user: str, adjustment: JournalEntryRecord | None
) -> Difference | None:
    adjusted = _adjusted(adjustment) if adjustment else 0
    if adjusted == amount:
        return None
    # A use raises what the reserve funds, a refund lowers it; both are expected of the adjustment.
    flow = Flow.INTO_PLATFORM if amount > 0 else Flow.OUT_OF_PLATFORM
    return Difference(
        kind=ADJUSTMENT_MISSING if adjustment is None else ADJUSTMENT_MISMATCH,
        currency=currency,
        expected=abs(amount),
        actual=abs(adjusted) if adjustment else None,
        flow=flow,
        summary=f"entry {key} {'uses' if amount > 0 else 'gives back'} {abs(amount)} {currency} of "
        f"{user}'s legacy money; its reserve adjustment moved {abs(adjusted)}",
        our_ids={"entry": key, "adjustment": reserve_adjustment_key(key), "user": user},
    )


def _orphan(adjustment: JournalEntryRecord) -> Difference:
    adjusted = _adjusted(adjustment)
    currency = adjustment.moves[0].currency
    return Difference(
        kind=ADJUSTMENT_ORPHAN,
        currency=currency,
        expected=None,
        actual=abs(adjusted),
        flow=Flow.INTO_PLATFORM if adjusted > 0 else Flow.OUT_OF_PLATFORM,
        summary=f"reserve adjustment {adjustment.id} moved {abs(adjusted)} {currency} for entry "
        f"{adjustment.refs.get('entry')}, which the ledger does not have",
        our_ids={
            "adjustment": adjustment.id,
            "entry": adjustment.refs.get("entry", ""),
            "user": adjustment.refs.get("user", ""),
        },
    )
