"""Applies journal entries to MongoDB: the entry, its postings and the balances, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.ledger import (
    EntryKeyConflict,
    InsufficientFunds,
    JournalEntry,
    may_go_negative,
)
from app.services.account_locks import AccountLocks

log = structlog.get_logger(__name__)


def account_id(account: str, currency: str) -> str:
    return f"{account}|{currency}"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an account's history: the signed change and the balance after it."""

    entry_id: str
    kind: str
    amount: int
    currency: str
    balance_after: int | None  # None for outside (world) accounts, which keep no balance document
    seq: int | None
    refs: dict[str, str]
    created_at: datetime


class Ledger:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._entries = database[Collections.JOURNAL_ENTRIES]
        self._accounts = database[Collections.LEDGER_ACCOUNTS]
        self._postings = database[Collections.LEDGER_POSTINGS]
        self._locks = AccountLocks()

    async def post(self, entry: JournalEntry) -> Document:
        """Post `entry` once. Posting the same key again returns the first entry unchanged."""
        existing = await self._entries.find_one({"_id": entry.key})
        if existing is not None:
            return self._same_entry_or_conflict(existing, entry)
        balances = [account for account, _ in entry.balance_deltas() if not may_go_negative(account)]
        try:
            async with self._locks.hold(balances):
                return await self._db.transaction(lambda session: self.post_in(session, entry))
        except DuplicateKeyError:
            existing = await self._entries.find_one({"_id": entry.key})
            if existing is None:
                raise
            return self._same_entry_or_conflict(existing, entry)

    async def post_in(self, session: AsyncClientSession, entry: JournalEntry) -> Document:
        """Post `entry` inside the caller's transaction, beside the caller's own writes.

        A key that already exists raises DuplicateKeyError and aborts the caller's transaction.
        """
        now = datetime.now(UTC)
        document = _entry_document(entry, now)
        await self._entries.insert_one(document, session=session)
        postings = [
            await self._apply_delta(session, entry, account, currency, delta, now)
            for (account, currency), delta in entry.balance_deltas().items()
        ]
        await self._postings.insert_many(postings, session=session)
        log.info("ledger_entry_posted", entry_id=entry.key, kind=str(entry.kind), refs=dict(entry.refs))
        return document

    async def _apply_delta(
        self,
        session: AsyncClientSession,
        entry: JournalEntry,
        account: str,
        currency: str,
        delta: int,
        now: datetime,
    ) -> Document:
        posting = {
            "_id": f"{entry.key}|{account}|{currency}",
            "entry_id": entry.key,
            "kind": str(entry.kind),
            "account": account,
            "currency": currency,
            "amount": delta,
            "refs": dict(entry.refs),
            "created_at": now,
        }
        if may_go_negative(account):
            # Outside accounts (cards, banks) take part in nearly every entry; a balance document
            # for them would make every transaction conflict. Their balance is their postings' sum.
            return {**posting, "balance_after": None, "seq": None}
        account_doc = await self._change_balance(session, account, currency, delta, now)
        return {**posting, "balance_after": account_doc["balance"], "seq": account_doc["version"]}

    async def _change_balance(
        self, session: AsyncClientSession, account: str, currency: str, delta: int, now: datetime
    ) -> Document:
        update: dict[str, Any] = {"$inc": {"balance": delta, "version": 1}, "$set": {"updated_at": now}}
        if delta >= 0:
            update["$setOnInsert"] = {"account": account, "currency": currency, "created_at": now}
            account_doc = await self._accounts.find_one_and_update(
                {"_id": account_id(account, currency)},
                update,
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            assert account_doc is not None  # an upsert always returns the document
            return account_doc
        # The floor is part of the match, so a concurrent spend cannot slip past it.
        account_doc = await self._accounts.find_one_and_update(
            {"_id": account_id(account, currency), "balance": {"$gte": -delta}},
            update,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if account_doc is None:
            raise InsufficientFunds(
                f"{account} has less than {-delta} {currency}", account=account, currency=currency
            )
        return account_doc

    @staticmethod
    def _same_entry_or_conflict(existing: Document, entry: JournalEntry) -> Document:
        if existing["fingerprint"] != entry.fingerprint():
            raise EntryKeyConflict(f"journal entry {entry.key} was posted with different moves")
        return existing

    async def balance(self, account: str, currency: str, *, session: AsyncClientSession | None = None) -> int:
        if may_go_negative(account):
            return await self._sum_postings({"account": account, "currency": currency}, session)
        doc = await self._accounts.find_one(
            {"_id": account_id(account, currency)}, {"balance": 1}, session=session
        )
        return int(doc["balance"]) if doc else 0

    async def history(
        self, account: str, currency: str, *, limit: int = 50, before_seq: int | None = None
    ) -> list[Posting]:
        """An account's postings, newest first; `before_seq` continues a previous page."""
        query: dict[str, Any] = {"account": account, "currency": currency}
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        cursor = self._postings.find(query).sort("seq", DESCENDING).limit(limit)
        return [_posting(doc) async for doc in cursor]

    async def totals_by_currency(self) -> dict[str, int]:
        """The sum of every account's postings per currency: zero for a conserving ledger."""
        totals: dict[str, int] = {}
        pipeline = [{"$group": {"_id": "$currency", "total": {"$sum": "$amount"}}}]
        async for row in await self._postings.aggregate(pipeline):
            totals[row["_id"]] = row["total"]
        return totals

    async def _sum_postings(self, query: Document, session: AsyncClientSession | None) -> int:
        pipeline = [{"$match": query}, {"$group": {"_id": None, "total": {"$sum": "$amount"}}}]
        async for row in await self._postings.aggregate(pipeline, session=session):
            return int(row["total"])
        return 0

    async def entry(self, key: str) -> Document | None:
        return await self._entries.find_one({"_id": key})


def _entry_document(entry: JournalEntry, now: datetime) -> Document:
    return {
        "_id": entry.key,
        "kind": str(entry.kind),
        "moves": [move.as_document() for move in entry.moves],
        "refs": dict(entry.refs),
        "fingerprint": entry.fingerprint(),
        "created_at": now,
    }


def _posting(doc: Document) -> Posting:
    return Posting(
        entry_id=doc["entry_id"],
        kind=doc["kind"],
        amount=doc["amount"],
        currency=doc["currency"],
        balance_after=doc["balance_after"],
        seq=doc["seq"],
        refs=doc["refs"],
        created_at=doc["created_at"],
    )
