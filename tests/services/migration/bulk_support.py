"""A legacy data set with every kind of bad wallet, written as the legacy system would, and the
state of the books and the legacy data, normalized so that two runs can be compared."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import bson

from app.db import Collections, Database
from app.domain.migration import RejectionReason, typed_text
from migrations.legacy_fixture import FixtureWallet, legacy_wallets
from tests.legacy_wallets import USERS as MARKETPLACE_USERS

LEGACY = "wallets"
# Every third wallet is bad, so 120 users cover each kind of bad several times.
USERS = 120
BAD_SHARE = 1 / 3


@dataclass(frozen=True)
class DataSet:
    wallets: list[FixtureWallet]

    @property
    def good(self) -> list[FixtureWallet]:
        return [wallet for wallet in self.wallets if wallet.reason is None]

    @property
    def bad(self) -> list[FixtureWallet]:
        return [wallet for wallet in self.wallets if wallet.reason is not None]

    def expected_rejections(self) -> Counter[str]:
        return Counter(wallet.reason.value for wallet in self.bad for _ in wallet.documents if wallet.reason)

    def migrated_minor_units(self) -> int:
        return sum(wallet.minor_units for wallet in self.good)


def data_set(users: int = USERS, seed: int = 7) -> DataSet:
    wallets = list(legacy_wallets(users, bad_share=BAD_SHARE, seed=seed))
    assert {wallet.reason for wallet in wallets if wallet.reason} == set(RejectionReason), "a kind is missing"
    return DataSet(wallets)


async def write_data_set(database: Database, data: DataSet) -> None:
    documents = [dict(document) for wallet in data.wallets for document in wallet.documents]
    await database[LEGACY].insert_many(documents)
    users = [wallet.user for wallet in data.wallets if wallet.user is not None]
    await database[MARKETPLACE_USERS].insert_many([dict(user) for user in users])


async def legacy_documents(database: Database) -> dict[Any, bytes]:
    """Every legacy document, as its exact BSON bytes (types and field order included)."""
    return {document["_id"]: bson.encode(document) async for document in database[LEGACY].find()}


# What two runs over the same data must agree on: nothing that depends on time or on ids.
_TIMES = {"created_at", "updated_at", "migrated_at", "migratedAt", "updatedAt", "lateMigratedAt", "at"}


async def books(database: Database) -> dict[str, Any]:
    """The ledger, the migration records and the legacy data, without times, run ids or `_id`s
    generated on insert: equal for two runs that did the same."""
    return {
        "entries": sorted(
            [
                (doc["_id"], doc["kind"], repr(doc["moves"]), repr(_without_run(doc["refs"])))
                async for doc in database[Collections.JOURNAL_ENTRIES].find()
            ]
        ),
        "balances": sorted(
            [
                (doc["_id"], doc["balance"], doc["version"])
                async for doc in database[Collections.LEDGER_ACCOUNTS].find()
            ]
        ),
        "postings": sorted(
            [
                (doc["_id"], doc["amount"], doc["balance_after"], doc["seq"])
                async for doc in database[Collections.LEDGER_POSTINGS].find()
            ]
        ),
        "records": sorted(
            [
                (
                    doc["user_id"],
                    doc["amount"],
                    doc["currency"],
                    doc["normalized"],
                    doc["status"],
                    doc["generation"],
                    doc["entry_id"],
                    doc["ledger_version"],
                    typed_text(doc["original_balance"]),
                )
                async for doc in database[Collections.LEGACY_WALLETS].find()
            ]
        ),
        "legacy": sorted(
            [
                repr(
                    sorted(
                        (key, typed_text(value))
                        for key, value in doc.items()
                        if key not in {"_id", "migrationRunId", *_TIMES}
                    )
                )
                async for doc in database[LEGACY].find()
            ]
        ),
        "rejections": sorted(
            [
                (doc["user_id"] or "", doc["raw_user_id"], doc["reason"], doc["balance"])
                async for doc in database[Collections.LEGACY_MIGRATION_REJECTIONS].find()
            ]
        ),
    }


def _without_run(refs: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in refs.items() if key != "run"}
