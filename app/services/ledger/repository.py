"""The ledger's collections: journal entries, account balances and postings, with their indexes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import IDS_PER_READ, Collections, Database, Document, NamespacedWrite, duplicates_raised
from app.domain.ledger import EntryKind, JournalEntry, Move
from app.errors import UnknownCursor

# Documents per batch of a streamed read: a cursor's later batches are otherwise up to 16 MB.
STREAM_BATCH = 100

INDEXES: dict[str, list[IndexModel]] = {
    Collections.LEDGER_ACCOUNTS: [IndexModel([("account", ASCENDING), ("currency", ASCENDING)])],
    Collections.JOURNAL_ENTRIES: [
        IndexModel([("kind", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
    ],
    Collections.LEDGER_POSTINGS: [
        IndexModel([("account", ASCENDING), ("currency", ASCENDING), ("seq", DESCENDING)]),
        IndexModel([("currency", ASCENDING)]),
        IndexModel([("account", ASCENDING), ("currency", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("entry_id", ASCENDING)]),
    ],
}


@dataclass(frozen=True, slots=True)
class JournalEntryRecord:
    """A posted journal entry as stored."""

    id: str
    kind: EntryKind
    moves: tuple[Move, ...]
    refs: dict[str, str]
    fingerprint: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an account's history: the signed change and the balance after it."""

    id: str
    entry_id: str
    account: str
    kind: str
    amount: int
    currency: str
    balance_after: int | None  # None for outside (world) accounts, which keep no balance document
    seq: int | None
    refs: dict[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BalanceAfter:
    """An account's balance document right after a change: its balance and version."""

    balance: int
    version: int


def account_id(account: str, currency: str) -> str:
    return f"{account}|{currency}"


class BalanceMoved(RuntimeError):
    """A balance read in the transaction changed before it was written: the transaction must not commit."""


class LedgerRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._postings_namespace = database.namespace(Collections.LEDGER_POSTINGS)
        self._entries_namespace = database.namespace(Collections.JOURNAL_ENTRIES)
        self._accounts_namespace = database.namespace(Collections.LEDGER_ACCOUNTS)
        self._entries = database[Collections.JOURNAL_ENTRIES]
        self._accounts = database[Collections.LEDGER_ACCOUNTS]
        self._postings = database[Collections.LEDGER_POSTINGS]

    async def find_entry(
        self, key: str, session: AsyncClientSession | None = None
    ) -> JournalEntryRecord | None:
        document = await self._entries.find_one({"_id": key}, session=session)
        return _entry_record(document) if document else None

    async def find_entries(self, keys: Sequence[str]) -> dict[str, JournalEntryRecord]:
        found: dict[str, JournalEntryRecord] = {}
        for start in range(0, len(keys), IDS_PER_READ):
            async for document in self._entries.find(
                {"_id": {"$in": list(keys[start : start + IDS_PER_READ])}}
            ):
                found[document["_id"]] = _entry_record(document)
        return found

    async def insert_entries(
        self, session: AsyncClientSession, entries: Sequence[JournalEntry], now: datetime
    ) -> None:
        """Insert the entries in one command; a key that exists raises DuplicateKeyError."""
        with duplicates_raised():
            await self._entries.insert_many(
                [_entry_document(entry, now) for entry in entries], session=session
            )

    async def read_balances(
        self, session: AsyncClientSession, accounts: Sequence[tuple[str, str]]
    ) -> dict[str, BalanceAfter]:
        """The balance documents of (account, currency) pairs that have one, by their `_id`."""
        ids = [account_id(account, currency) for account, currency in accounts]
        found: dict[str, BalanceAfter] = {}
        for start in range(0, len(ids), IDS_PER_READ):
            query = {"_id": {"$in": ids[start : start + IDS_PER_READ]}}
            async for document in self._accounts.find(query, {"balance": 1, "version": 1}, session=session):
                found[document["_id"]] = BalanceAfter(int(document["balance"]), int(document["version"]))
        return found

    async def write_balances(
        self,
        session: AsyncClientSession,
        found: Mapping[str, BalanceAfter],
        balances: Mapping[str, BalanceAfter],
        now: datetime,
    ) -> None:
        """Write each balance: a compare-and-set on the version read (`found`), or an insert of
        one that had no document (a duplicate key if it has one now)."""
        created = [
            {
                "_id": key,
                "account": key.rsplit("|", 1)[0],
                "currency": key.rsplit("|", 1)[1],
                "balance": after.balance,
                "version": after.version,
                "created_at": now,
                "updated_at": now,
            }
            for key, after in balances.items()
            if key not in found
        ]
        changed = [
            UpdateOne(
                {"_id": key, "version": found[key].version},
                {"$set": {"balance": after.balance, "version": after.version, "updated_at": now}},
            )
            for key, after in balances.items()
            if key in found and after != found[key]
        ]
        if created:
            with duplicates_raised():
                await self._accounts.insert_many(created, session=session)
        if changed:
            result = await self._accounts.bulk_write(changed, session=session)
            if result.matched_count != len(changed):
                raise BalanceMoved("a balance changed between its read and its write")

    async def write_entry(
        self,
        session: AsyncClientSession,
        entry: JournalEntry,
        postings: Sequence[Posting],
        found: Mapping[str, BalanceAfter],
        balances: Mapping[str, BalanceAfter],
        along: Sequence[NamespacedWrite],
        now: datetime,
    ) -> JournalEntryRecord:
        """One command: the entry (a key that exists raises DuplicateKeyError), each balance from
        the version read (`found`) to its new one, the postings, and the caller's `along` writes.

        A balance another transaction changed or created since it was read is a write conflict,
        which the server labels transient: the caller's transaction is run again on what is
        there then."""
        document = _entry_document(entry, now)
        balance_writes = [
            self._balance_write(key, after, found.get(key), now)
            for key, after in balances.items()
            if after != found.get(key)
        ]
        writes: list[NamespacedWrite] = [
            *balance_writes,
            *(InsertOne(_posting_document(p), namespace=self._postings_namespace) for p in postings),
            *along,
        ]
        if balances:
            writes.insert(0, InsertOne(document, namespace=self._entries_namespace))
        else:
            # No balance was read, so this may be the transaction's first command, which carries
            # its read concern: `bulkWrite` takes none (SecantusDB refuses it). The entry opens
            # the transaction by itself; such entries (the platform's own, against the world)
            # are few.
            await self._entries.insert_one(document, session=session)
        if not writes:
            return _entry_record(document)
        await self._db.write_together(writes, session=session)
        return _entry_record(document)

    def _balance_write(
        self, key: str, after: BalanceAfter, before: BalanceAfter | None, now: datetime
    ) -> NamespacedWrite:
        """The balance `key` from `before` (None: it had no document) to `after`. The version read
        is in the filter and the update is an upsert, so that were a moved version ever let
        through, it would collide on `_id` and abort the transaction rather than be written over."""
        if before is None:
            account, currency = key.rsplit("|", 1)
            created = {
                "_id": key,
                "account": account,
                "currency": currency,
                "balance": after.balance,
                "version": after.version,
                "created_at": now,
                "updated_at": now,
            }
            return InsertOne(created, namespace=self._accounts_namespace)
        return UpdateOne(
            {"_id": key, "version": before.version},
            {"$set": {"balance": after.balance, "version": after.version, "updated_at": now}},
            upsert=True,
            namespace=self._accounts_namespace,
        )

    async def insert_postings(self, session: AsyncClientSession, postings: Sequence[Posting]) -> None:
        with duplicates_raised():
            await self._postings.insert_many(
                [_posting_document(posting) for posting in postings], session=session
            )

    async def balances(
        self, accounts: Sequence[str], currency: str, session: AsyncClientSession | None = None
    ) -> dict[str, int]:
        """The balances of accounts that keep a balance document, in one read (0 if none yet)."""
        ids = {account_id(account, currency): account for account in accounts}
        cursor = self._accounts.find({"_id": {"$in": list(ids)}}, {"balance": 1}, session=session)
        found = {ids[document["_id"]]: int(document["balance"]) async for document in cursor}
        return {account: found.get(account, 0) for account in accounts}

    async def balance(self, account: str, currency: str, session: AsyncClientSession | None) -> int:
        document = await self._accounts.find_one(
            {"_id": account_id(account, currency)}, {"balance": 1}, session=session
        )
        return int(document["balance"]) if document else 0

    async def sum_postings(self, account: str, currency: str, session: AsyncClientSession | None) -> int:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"account": account, "currency": currency}},
            {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
        ]
        async for row in await self._postings.aggregate(pipeline, session=session):
            return int(row["total"])
        return 0

    async def balances_by_account(self, currency: str) -> AsyncIterator[tuple[str, int]]:
        """Every account's balance in `currency`, as the sum of its postings, streamed a batch of
        accounts at a time (there is one account per buyer, escrow and seller)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"currency": currency}},
            {"$group": {"_id": "$account", "total": {"$sum": "$amount"}}},
        ]
        async for row in await self._postings.aggregate(pipeline, batchSize=STREAM_BATCH):
            yield row["_id"], int(row["total"])

    async def totals_by_currency(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        pipeline = [{"$group": {"_id": "$currency", "total": {"$sum": "$amount"}}}]
        async for row in await self._postings.aggregate(pipeline):
            totals[row["_id"]] = row["total"]
        return totals

    async def history(self, account: str, currency: str, limit: int, before_seq: int | None) -> list[Posting]:
        query: dict[str, Any] = {"account": account, "currency": currency}
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        cursor = self._postings.find(query).sort("seq", DESCENDING).limit(limit)
        return [_posting(document) async for document in cursor]

    async def statement(
        self, accounts: Sequence[str], currency: str, limit: int, starting_after: str | None
    ) -> list[Posting]:
        """Up to `limit` postings of `accounts`, newest first, after the posting `starting_after`."""
        query: dict[str, Any] = {"account": {"$in": list(accounts)}, "currency": currency}
        if starting_after is not None:
            query.update(await self._after(starting_after, query))
        cursor = (
            self._postings.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        )
        return [_posting(document) async for document in cursor]

    async def entries_created(
        self, start: datetime, end: datetime, kind: EntryKind | None, key_prefixes: tuple[str, ...]
    ) -> AsyncIterator[JournalEntryRecord]:
        """Entries written from `start` to `end` (excluded), of one kind or all, and of those keys
        when `key_prefixes` are given, streamed oldest first."""
        query: dict[str, Any] = {"created_at": {"$gte": start, "$lt": end}}
        if kind is not None:
            query["kind"] = str(kind)
        if key_prefixes:
            query["_id"] = {"$regex": "^(?:" + "|".join(re.escape(prefix) for prefix in key_prefixes) + ")"}
        cursor = self._entries.find(query).sort("created_at", ASCENDING).batch_size(STREAM_BATCH)
        async for document in cursor:
            yield _entry_record(document)

    async def custody_by_currency(self, prefix: str, suffix: str) -> dict[str, int]:
        """The sum of the balances of the accounts named `prefix…suffix`, per currency. Balance
        documents are keyed `account|currency`, so the prefix is a range of `_id`."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        match: dict[str, Any] = {"_id": {"$gte": prefix, "$lt": upper}}
        if suffix:
            match["account"] = {"$regex": f"{re.escape(suffix)}$"}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$group": {"_id": "$currency", "total": {"$sum": "$balance"}}},
        ]
        return {row["_id"]: int(row["total"]) async for row in await self._accounts.aggregate(pipeline)}

    async def _after(self, posting_id: str, query: dict[str, Any]) -> dict[str, Any]:
        anchor = await self._postings.find_one({"_id": posting_id, **query})
        if anchor is None:
            raise UnknownCursor(f"starting_after {posting_id!r} is not a line of this wallet")
        created = anchor["created_at"]
        return {
            "$or": [{"created_at": {"$lt": created}}, {"created_at": created, "_id": {"$lt": posting_id}}]
        }


def _entry_document(entry: JournalEntry, now: datetime) -> Document:
    return {
        "_id": entry.key,
        "kind": str(entry.kind),
        "moves": [move.as_document() for move in entry.moves],
        "refs": dict(entry.refs),
        "fingerprint": entry.fingerprint(),
        "created_at": now,
    }


def _entry_record(document: Document) -> JournalEntryRecord:
    return JournalEntryRecord(
        id=document["_id"],
        kind=EntryKind(document["kind"]),
        moves=tuple(Move(m["from"], m["to"], m["amount"], m["currency"]) for m in document["moves"]),
        refs=document["refs"],
        fingerprint=document["fingerprint"],
        created_at=document["created_at"],
    )


def _posting_document(posting: Posting) -> Document:
    return {
        "_id": posting.id,
        "entry_id": posting.entry_id,
        "kind": posting.kind,
        "account": posting.account,
        "currency": posting.currency,
        "amount": posting.amount,
        "refs": posting.refs,
        "created_at": posting.created_at,
        "balance_after": posting.balance_after,
        "seq": posting.seq,
    }


def _posting(document: Document) -> Posting:
    return Posting(
        id=document["_id"],
        entry_id=document["entry_id"],
        account=document["account"],
        kind=document["kind"],
        amount=document["amount"],
        currency=document["currency"],
        balance_after=document["balance_after"],
        seq=document["seq"],
        refs=document["refs"],
        created_at=document["created_at"],
    )
