"""Applies journal entries: the entry, its postings and the balances, in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database, NamespacedWrite
from app.domain.ledger import (
    EntryKeyConflict,
    EntryKind,
    InsufficientFunds,
    JournalEntry,
    may_go_negative,
    platform_stripe_share,
)
from app.services.ledger.account_locks import AccountLocks
from app.services.ledger.repository import (
    BalanceAfter,
    JournalEntryRecord,
    LedgerRepository,
    Posting,
    account_id,
)

log = structlog.get_logger(__name__)


class Ledger:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._repository = LedgerRepository(database)
        self._locks = AccountLocks()

    async def post(
        self,
        entry: JournalEntry,
        *,
        along: Callable[[AsyncClientSession], Sequence[NamespacedWrite]] | None = None,
    ) -> JournalEntryRecord:
        """Post `entry` once. Posting the same key again returns the first entry unchanged.

        The entry is not looked for first: its insert fails on the duplicate key, which says so.
        `along` builds, for the entry's transaction, the caller's writes sent with it (its audit
        record, `AuditLog.prepare`); they are written only with the entry, never for a repeat.
        """
        balances = [account for account, _ in entry.balance_deltas() if not may_go_negative(account)]

        def post_in(session: AsyncClientSession) -> Awaitable[JournalEntryRecord]:
            return self.post_in(session, entry, along=along(session) if along else ())

        try:
            async with self._locks.hold(balances):
                return await self._db.transaction(post_in)
        except DuplicateKeyError:
            existing = await self._repository.find_entry(entry.key)
            if existing is None:
                raise
            return _same_entry_or_conflict(existing, entry)

    async def post_in(
        self, session: AsyncClientSession, entry: JournalEntry, *, along: Sequence[NamespacedWrite] = ()
    ) -> JournalEntryRecord:
        """Post `entry` inside the caller's transaction, beside the caller's own writes: one read
        of its custody balances and one command writing everything.

        `along` are writes of the caller's (its audit record, its status change) sent in the same
        command as the entry, its balances and postings. A key that already exists raises
        DuplicateKeyError and aborts the caller's transaction; a custody account that would go
        below zero raises InsufficientFunds before anything is written (DuplicateKeyError if the
        entry is posted already: a retry finds its own spending, not a shortage). A balance
        changed by another transaction since it was read is a write conflict: the server labels
        it transient and the caller's transaction is run again.
        """
        now = datetime.now(UTC)
        custody = [key for key in entry.balance_deltas() if not may_go_negative(key[0])]
        found = await self._repository.read_balances(session, custody) if custody else {}
        balances = dict(found)
        # Moves that cancel out (A→B 5, B→A 5) conserve money like any other entry: it is
        # recorded, its key is used, and no balance changes, so it has no postings.
        try:
            postings = [
                self._posting(entry, account, currency, delta, balances, now)
                for (account, currency), delta in entry.balance_deltas().items()
            ]
        except InsufficientFunds:
            # Posted already, the entry itself took the money: that is the duplicate it is.
            if await self._repository.find_entry(entry.key, session) is not None:
                raise DuplicateKeyError(f"journal entry {entry.key} is posted already") from None
            raise
        record = await self._repository.write_entry(session, entry, postings, found, balances, along, now)
        log.info("ledger_entry_posted", entry_id=entry.key, kind=str(entry.kind), refs=dict(entry.refs))
        return record

    async def post_many_in(
        self,
        session: AsyncClientSession,
        entries: Sequence[JournalEntry],
        *,
        new_accounts: Collection[tuple[str, str]] = (),
    ) -> list[Posting]:
        """Post `entries`, in order, inside the caller's transaction, in a few commands whatever
        their number (the bulk legacy migration posts hundreds at once); their postings, in order.

        The same rules as `post_in`, entry by entry: a key that exists (or repeats in the batch)
        raises DuplicateKeyError, every entry conserves money, and no custody account goes below
        zero at any point (InsufficientFunds). The custody balances are read once, in the
        transaction, and written by compare-and-set on their version. `new_accounts` are the
        (account, currency) pairs the caller knows have no balance yet (a first migration's):
        they are not read, and one that has a balance aborts the transaction (DuplicateKeyError).
        """
        if len({entry.key for entry in entries}) != len(entries):
            raise DuplicateKeyError("a batch of journal entries repeats a key")
        now = datetime.now(UTC)
        custody = sorted(
            {key for entry in entries for key in entry.balance_deltas() if not may_go_negative(key[0])}
        )
        new = set(new_accounts)
        found = await self._repository.read_balances(session, [pair for pair in custody if pair not in new])
        balances = dict(found)
        postings = [
            self._posting(entry, account, currency, delta, balances, now)
            for entry in entries
            for (account, currency), delta in entry.balance_deltas().items()
        ]
        await self._repository.insert_entries(session, entries, now)
        await self._repository.write_balances(session, found, balances, now)
        await self._repository.insert_postings(session, postings)
        log.info("ledger_entries_posted", entries=len(entries))
        return postings

    @staticmethod
    def _posting(
        entry: JournalEntry,
        account: str,
        currency: str,
        delta: int,
        balances: dict[str, BalanceAfter],
        now: datetime,
    ) -> Posting:
        balance_after = seq = None
        if not may_go_negative(account):
            before = balances.get(account_id(account, currency), BalanceAfter(0, 0))
            if before.balance + delta < 0:
                raise InsufficientFunds(
                    f"{account} has less than {-delta} {currency}", account=account, currency=currency
                )
            balance_after, seq = before.balance + delta, before.version + 1
            balances[account_id(account, currency)] = BalanceAfter(balance_after, seq)
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
        """The posted entries among `keys`, by key."""
        return await self._repository.find_entries(keys)

    def entries_created(
        self, start: datetime, end: datetime, kind: EntryKind | None = None, *key_prefixes: str
    ) -> AsyncIterator[JournalEntryRecord]:
        """Entries written from `start` to `end` (excluded), of one kind or all, and whose keys
        start with one of `key_prefixes` if any are given (a kind's entries of one flow), oldest
        first, streamed from the database (never a whole list in memory)."""
        return self._repository.entries_created(start, end, kind, key_prefixes)

    async def custody_by_currency(self, prefix: str, suffix: str = "") -> dict[str, int]:
        """What the custody accounts named `prefix…suffix` hold together, per currency: escrow is
        `escrow:`, releases waiting for a transfer are `seller:` … `:pending_transfer`."""
        if may_go_negative(prefix):
            raise ValueError(f"custody_by_currency() sums custody accounts, not {prefix}*")
        return await self._repository.custody_by_currency(prefix, suffix)

    async def custody_balances(
        self, session: AsyncClientSession, accounts: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], BalanceAfter]:
        """The balance and version of custody (account, currency) pairs, read in the caller's
        transaction; a pair without a balance document yet is absent."""
        found = await self._repository.read_balances(session, accounts)
        return {pair: found[account_id(*pair)] for pair in accounts if account_id(*pair) in found}


def _same_entry_or_conflict(existing: JournalEntryRecord, entry: JournalEntry) -> JournalEntryRecord:
    if existing.fingerprint != entry.fingerprint():
        raise EntryKeyConflict(f"journal entry {entry.key} was posted with different moves")
    return existing
