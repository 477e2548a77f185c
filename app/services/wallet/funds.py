"""Spending from and refunding to a buyer's wallet: legacy money first, then platform money.

Every use of legacy money moves the matching amount from the legacy reserve to what it must fund
(the platform reserve adjustment), and every refund of legacy money moves it back, in the same
transaction, so custody is always known.

One spend may pay several destinations (an order's escrows, one per seller): it is one entry,
the caller's split of what `held_in` read in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database, NamespacedWrite
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKeyConflict, EntryKind, JournalEntry, Move, entry
from app.domain.money import Money
from app.domain.wallet import FundingSplit, reserve_adjustment, split_of_moves
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration

# A destination (or source, for a refund) account and the wallet money moved to (or from) it.
Share = tuple[str, FundingSplit]


@dataclass(frozen=True, slots=True)
class WalletEntry:
    """How a wallet movement is recorded: its entry key (which makes it happen once), kind, refs."""

    key: str
    kind: EntryKind
    refs: Mapping[str, str] = field(default_factory=dict)


class WalletFunds:
    def __init__(self, database: Database, ledger: Ledger, migration: LegacyMigration) -> None:
        self._db = database
        self._ledger = ledger
        self._migration = migration

    async def spend(self, user_id: str, amount: Money, destination: str, record: WalletEntry) -> FundingSplit:
        """Take `amount` from the wallet into `destination`, legacy first; once per entry key."""
        await self._migration.migrate_user(user_id, Actor.user(user_id))
        try:
            return await self._db.transaction(
                lambda session: self.spend_in(session, user_id, amount, destination, record)
            )
        except DuplicateKeyError:
            return await self._split_of_posted(user_id, amount, destination, record, spending=True)

    async def migrate_before_spending(self, user_id: str, actor: Actor) -> None:
        """Move the user's legacy balance into the ledger first, so a spend inside a caller's
        transaction (`spend_in`, `spend_across_in`) can use it."""
        await self._migration.migrate_user(user_id, actor)

    async def spend_in(
        self, session: AsyncClientSession, user_id: str, amount: Money, destination: str, record: WalletEntry
    ) -> FundingSplit:
        """`spend` inside the caller's transaction (the caller has migrated the user first)."""
        legacy_balance = await self._ledger.balance(
            Accounts.buyer_legacy(user_id), amount.currency, session=session
        )
        legacy = min(legacy_balance, amount.amount)
        split = FundingSplit(legacy=legacy, platform=amount.amount - legacy, currency=amount.currency)
        await self._post_shares(session, user_id, [(destination, split)], record, spending=True)
        return split

    async def held_in(self, session: AsyncClientSession, user_id: str, currency: str) -> FundingSplit:
        """What the wallet holds now of each source; one read, inside the caller's transaction,
        for a split it then spends with `spend_across_in`."""
        legacy_account, platform_account = Accounts.buyer_legacy(user_id), Accounts.buyer_wallet(user_id)
        held = await self._ledger.balances([legacy_account, platform_account], currency, session=session)
        return FundingSplit(legacy=held[legacy_account], platform=held[platform_account], currency=currency)

    async def spend_across_in(
        self,
        session: AsyncClientSession,
        user_id: str,
        shares: Sequence[Share],
        record: WalletEntry,
        *,
        along: Sequence[NamespacedWrite] = (),
    ) -> None:
        """Take each (destination, split) of `shares` from the wallet (split from a `held_in` of
        this transaction) as one entry under `record.key`, inside the caller's transaction (the caller
        has migrated the user first). The balances' floors refuse a split the wallet cannot pay.

        `along` are the caller's writes, sent with the entry's postings (or alone when nothing
        is spent), one round trip fewer.
        """
        await self._post_shares(session, user_id, shares, record, spending=True, along=along)

    async def refund_to_sources(
        self, user_id: str, split: FundingSplit, source: str, record: WalletEntry
    ) -> FundingSplit:
        """Give back to each wallet source what came from it; once per entry key."""
        try:
            return await self._db.transaction(
                lambda session: self.refund_to_sources_in(session, user_id, split, source, record)
            )
        except DuplicateKeyError:
            total = Money(split.total, split.currency)
            return await self._split_of_posted(user_id, total, source, record, spending=False)

    async def refund_to_sources_in(
        self, session: AsyncClientSession, user_id: str, split: FundingSplit, source: str, record: WalletEntry
    ) -> FundingSplit:
        await self._post_shares(session, user_id, [(source, split)], record, spending=False)
        return split

    async def refund_across_in(
        self,
        session: AsyncClientSession,
        user_id: str,
        shares: Sequence[Share],
        record: WalletEntry,
        *,
        along: Sequence[NamespacedWrite] = (),
    ) -> None:
        """Give back to the wallet what each (source, split) of `shares` took from it, each part
        to its own source, as one entry inside the caller's transaction; `along` as for
        `spend_across_in`."""
        await self._post_shares(session, user_id, shares, record, spending=False, along=along)

    async def _post_shares(
        self,
        session: AsyncClientSession,
        user_id: str,
        shares: Sequence[Share],
        record: WalletEntry,
        *,
        spending: bool,
        along: Sequence[NamespacedWrite] = (),
    ) -> None:
        """One entry moving each split between its wallet accounts and its counterparty, plus the
        reserve adjustment for the legacy parts."""
        if not any(split.total for _, split in shares):
            if along:
                await self._db.write_together(along, session=session)
            return
        posted = _wallet_entry(user_id, shares, record, spending=spending)
        await self._ledger.post_in(session, posted, along=along)
        legacy = sum(split.legacy for _, split in shares)
        if legacy:
            currency = posted.moves[0].currency
            adjustment = reserve_adjustment(record.key, user_id, legacy, currency, use=spending)
            await self._ledger.post_in(session, adjustment)

    async def _split_of_posted(
        self, user_id: str, amount: Money, counterparty: str, record: WalletEntry, *, spending: bool
    ) -> FundingSplit:
        """The split an earlier request under the same key recorded. That request must have been
        this one: the entry this request would have posted with that split must be the posted
        entry, moves, destination and refs included (the ledger's fingerprint)."""
        posted = await self._ledger.entry(record.key)
        if posted is None:
            raise LookupError(f"journal entry {record.key} vanished after a duplicate key")
        split = split_of_moves(posted.moves, user_id, amount.currency)
        same = _wallet_entry(user_id, [(counterparty, split)], record, spending=spending)
        if split.total != amount.amount or same.fingerprint() != posted.fingerprint:
            raise EntryKeyConflict(f"journal entry {record.key} was posted for another movement")
        return split


def _wallet_entry(
    user_id: str, shares: Sequence[Share], record: WalletEntry, *, spending: bool
) -> JournalEntry:
    moves: list[Move] = []
    for counterparty, split in shares:
        parts = (
            (Accounts.buyer_legacy(user_id), split.legacy),
            (Accounts.buyer_wallet(user_id), split.platform),
        )
        moves.extend(
            Move(wallet, counterparty, amount, split.currency)
            if spending
            else Move(counterparty, wallet, amount, split.currency)
            for wallet, amount in parts
            if amount
        )
    return entry(record.key, record.kind, moves, user=user_id, **record.refs)
