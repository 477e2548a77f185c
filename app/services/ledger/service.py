"""Applies journal entries: the entry, its postings and the balances, in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database, NamespacedWrite
from app.domain.ledger import (
    EntryKeyConflict,
    EntryKind,
    JournalEntry,
    may_go_negative,
    platform_stripe_share,
)
from app.services.ledger.account_locks import AccountLocks
from app.services.ledger.repository import JournalEntryRecord, LedgerRepository, Posting

log = structlog.get_logger(__name__)

# `$in` lists longer than a page are slow to match; readers of many entries send pages of keys.
MAX_KEYS_PER_READ = 100


class Ledger:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._repository = LedgerRepository(database)
        self._locks = AccountLocks()

    async def post(self, entry: JournalEntry) -> JournalEntryRecord:
        """Post `entry` once. Posting the same key again returns the first entry unchanged.

        The entry is not looked for first: its insert fails on the duplicate key, which says so.
        """
        balances = [account for account, _ in entry.balance_deltas() if not may_go_negative(account)]
        try:
            async with self._locks.hold(balances):
                return await self._db.transaction(lambda session: self.post_in(session, entry))
        except DuplicateKeyError:
            existing = await self._repository.find_entry(entry.key)
            if existing is None:
                raise
            return _same_entry_or_conflict(existing, entry)

    async def post_in(
        self, session: AsyncClientSession, entry: JournalEntry, *, along: Sequence[NamespacedWrite] = ()
    ) -> JournalEntryRecord:
        """Post `entry` inside the caller's transaction, beside the caller's own writes.

        `along` are writes of the caller's (its audit record) sent in the same command as the
        entry's postings, one round trip fewer. A key that already exists raises
        DuplicateKeyError and aborts the caller's transaction.
        """
        now = datetime.now(UTC)
        record = await self._repository.insert_entry(session, entry, now)
        postings = [
            await self._posting(session, entry, account, currency, delta, now)
            for (account, currency), delta in entry.balance_deltas().items()
        ]
        # Moves that cancel out (A→B 5, B→A 5) conserve money like any other entry: it is
        # recorded, its key is used, and no balance changes, so it has no postings.
        if postings or along:
            await self._repository.insert_postings(session, postings, along)
        log.info("ledger_entry_posted", entry_id=entry.key, kind=str(entry.kind), refs=dict(entry.refs))
        return record

    async def _posting(
        self,
        session: AsyncClientSession,
        entry: JournalEntry,
        account: str,
        currency: str,
        delta: int,
        now: datetime,
    ) -> Posting:
        balance_after = seq = None
        # Outside accounts (cards, banks) take part in nearly every entry; a balance document
        # for them would make every transaction conflict. Their balance is their postings' sum.
        if not may_go_negative(account):
            changed = await self._repository.change_balance(session, account, currency, delta, now)
            balance_after, seq = changed.balance, changed.version
        return Posting(
            id=f"{entry.key}|{account}|{currency}",
            entry_id=entry.key,
            account=account,
            kind=str(entry.kind),
            amount=delta,
            currency=currency,
            balance_after=balance_after,
            seq=seq,
            refs=dict(entry.refs),
            created_at=now,
        )

    async def balance(self, account: str, currency: str, *, session: AsyncClientSession | None = None) -> int:
        if may_go_negative(account):
            return await self._repository.sum_postings(account, currency, session)
        return await self._repository.balance(account, currency, session)

    async def balances(
        self, accounts: Sequence[str], currency: str, *, session: AsyncClientSession | None = None
    ) -> dict[str, int]:
        """Several custody accounts' balances in one read (accounts without a floor keep no
        balance document; read those with `balance`)."""
        if any(may_go_negative(account) for account in accounts):
            raise ValueError(f"balances() reads custody accounts only, not {list(accounts)}")
        return await self._repository.balances(accounts, currency, session)

    async def history(
        self, account: str, currency: str, *, limit: int = 50, before_seq: int | None = None
    ) -> list[Posting]:
        """An account's postings, newest first; `before_seq` continues a previous page."""
        return await self._repository.history(account, currency, limit, before_seq)

    async def statement(
        self, accounts: Sequence[str], currency: str, *, limit: int, starting_after: str | None
    ) -> tuple[list[Posting], bool]:
        """The postings of several accounts together, newest first, and whether more follow.

        `starting_after` is the id of the last posting of the previous page; one of another
        account raises UnknownCursor.
        """
        postings = await self._repository.statement(accounts, currency, limit + 1, starting_after)
        return postings[:limit], len(postings) > limit

    async def expected_platform_stripe_balance(self, currency: str) -> int:
        """What the platform's Stripe balance (available plus pending) must be in `currency`,
        as the ledger predicts it (`app.domain.ledger.platform_stripe_balance`). Reconciliation
        compares it with Stripe's."""
        expected = 0
        async for account, balance in self._repository.balances_by_account(currency):
            expected += platform_stripe_share(account, balance)
        return expected

    async def totals_by_currency(self) -> dict[str, int]:
        """The sum of every account's postings per currency: zero for a conserving ledger."""
        return await self._repository.totals_by_currency()

    async def entry(self, key: str) -> JournalEntryRecord | None:
        return await self._repository.find_entry(key)

    async def entries(self, keys: Sequence[str]) -> dict[str, JournalEntryRecord]:
        """The entries of `keys` that exist, by key, in one read; at most a page of keys at once."""
        if len(keys) > MAX_KEYS_PER_READ:
            raise ValueError(f"entries() reads at most {MAX_KEYS_PER_READ} keys at once, not {len(keys)}")
        return await self._repository.entries_by_key(keys) if keys else {}

    def entries_created(
        self, start: datetime, end: datetime, kind: EntryKind | None = None
    ) -> AsyncIterator[JournalEntryRecord]:
        """Entries written from `start` to `end` (excluded), of one kind or all, oldest first,
        streamed from the database (never a whole list in memory)."""
        return self._repository.entries_created(start, end, kind)

    async def custody_by_currency(self, prefix: str, suffix: str = "") -> dict[str, int]:
        """What the custody accounts named `prefix…suffix` hold together, per currency: escrow is
        `escrow:`, releases waiting for a transfer are `seller:` … `:pending_transfer`."""
        if may_go_negative(prefix):
            raise ValueError(f"custody_by_currency() sums custody accounts, not {prefix}*")
        return await self._repository.custody_by_currency(prefix, suffix)


def _same_entry_or_conflict(existing: JournalEntryRecord, entry: JournalEntry) -> JournalEntryRecord:
    if existing.fingerprint != entry.fingerprint():
        raise EntryKeyConflict(f"journal entry {entry.key} was posted with different moves")
    return existing
