"""The one MongoDB client of a process, collection names and transactions.

Each collection's indexes live beside the repository that owns it; `app.container` collects them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pymongo
import structlog
from pymongo import AsyncMongoClient, DeleteOne, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ClientBulkWriteException, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.errors import ConfigurationError

log = structlog.get_logger(__name__)

Document = dict[str, Any]
T = TypeVar("T")
# A write that names its collection (`Database.namespace`), for `Database.write_together`.
NamespacedWrite = InsertOne[Document] | UpdateOne | DeleteOne
# MongoDB 8.0, the first with `bulkWrite`: writes to several collections in one command.
MIN_WIRE_VERSION = 25

# Ids per `$in` read. The server matches each candidate against the whole list, so one read's
# cost grows with the square of its length: 2,000 ids in one read took 12 to 19 times as long as
# in reads of 50 (SecantusDB), reads of 100 a fifth longer than reads of 50.
IDS_PER_READ = 50

CLOSE_TIMEOUT_SECONDS = 0.5
READINESS_TIMEOUT_SECONDS = 2.0
DUPLICATE_KEY = 11000


class Collections:
    """Every collection the service owns, named in one place; one repository owns each."""

    LEDGER_ACCOUNTS = "ledger_accounts"
    JOURNAL_ENTRIES = "journal_entries"
    LEDGER_POSTINGS = "ledger_postings"
    IDEMPOTENCY_KEYS = "idempotency_keys"
    STRIPE_ACCOUNTS = "stripe_accounts"
    PAYMENT_OPERATIONS = "payment_operations"
    WEBHOOK_EVENTS = "webhook_events"
    LEGACY_WALLETS = "legacy_wallets"
    LEGACY_MIGRATION_RUNS = "legacy_migration_runs"
    LEGACY_MIGRATION_BATCHES = "legacy_migration_batches"
    LEGACY_MIGRATION_REJECTIONS = "legacy_migration_rejections"
    FEATURE_FLAGS = "feature_flags"
    TOPUPS = "topups"
    TOPUP_OPENINGS = "topup_openings"
    LEASES = "leases"
    AUDIT_PENDING = "audit_pending"
    AUDIT_LOG = "audit_log"
    AUDIT_CHAIN = "audit_chain"
    ORDERS = "orders"
    ESCROWS = "escrows"
    SELLER_TRANSFERS = "seller_transfers"
    DISPUTES = "disputes"
    DISPUTE_EVIDENCE = "dispute_evidence"
    # GridFS bucket of evidence files (`<name>.files`, `<name>.chunks`).
    DISPUTE_EVIDENCE_FILES = "dispute_evidence_files"
    SELLER_DEBTS = "seller_debts"
    SELLER_RECOVERIES = "seller_recoveries"
    # One document per seller that a payout request and a dispute's or chargeback's opening on
    # that seller's money both write in their transactions, so MongoDB orders the two.
    SELLER_GATES = "seller_gates"
    REFUNDS = "refunds"
    NOTIFICATIONS = "notifications"
    NOTIFICATION_OUTBOX = "notification_outbox"
    PAYOUTS = "payouts"
    SELLER_BALANCES = "seller_balances"
    RECONCILIATION_RUNS = "reconciliation_runs"
    DISCREPANCIES = "discrepancies"
    RECONCILIATION_MARKS = "reconciliation_marks"


# Majority reads and writes so a committed transaction is never rolled back by a failover.
TRANSACTION_OPTIONS: dict[str, Any] = {
    "read_concern": ReadConcern("snapshot"),
    "write_concern": WriteConcern("majority"),
}


@dataclass(frozen=True)
class Database:
    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]

    def __getitem__(self, name: str) -> AsyncCollection[Document]:
        return self.db[name]

    def namespace(self, collection: str) -> str:
        return f"{self.db.name}.{collection}"

    async def write_together(
        self, writes: Sequence[NamespacedWrite], session: AsyncClientSession | None = None
    ) -> None:
        """Send writes to any collections as one command, in order, stopping at the first that
        fails: a hot path's writes cost one round trip instead of one each.

        A duplicate key raises DuplicateKeyError, its `details["idx"]` the place of the write that
        hit it; an error of the whole command raises as itself, so a transaction sees its labels.
        """
        try:
            await self.client.bulk_write(list(writes), session=session, ordered=True)
        except ClientBulkWriteException as exc:
            if isinstance(exc.error, PyMongoError):
                raise exc.error from exc
            errors: list[Document] = exc.details.get("writeErrors") or []
            for error in errors:
                if error.get("code") == DUPLICATE_KEY:
                    raise DuplicateKeyError(
                        error.get("errmsg", "duplicate key"), DUPLICATE_KEY, error
                    ) from exc
            raise

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run `work` in a transaction, retried whole on transient errors (write conflicts)."""
        async with self.client.start_session() as session:
            return await session.with_transaction(work, **TRANSACTION_OPTIONS)

    async def is_reachable(self) -> bool:
        """A ping answered within READINESS_TIMEOUT_SECONDS (unbounded, a server that is gone
        holds the probe for the whole server selection timeout, 30 s)."""
        try:
            with pymongo.timeout(READINESS_TIMEOUT_SECONDS):
                await self.client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    async def close(self) -> None:
        # Closing sends endSessions, which first waits for a reachable server: for the whole
        # serverSelectionTimeoutMS (30 s) when the database is already gone at shutdown. Sessions
        # expire on the server by themselves, so that courtesy only gets a short bound.
        with pymongo.timeout(CLOSE_TIMEOUT_SECONDS):
            await self.client.close()


def connect(uri: str, database: str) -> Database:
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True, uuidRepresentation="standard")
    return Database(client=client, db=client[database])


async def require_transaction_support(database: Database) -> None:
    """Refuse to run on a deployment without multi-document transactions (a standalone mongod),
    or older than MongoDB 8.0 (no `bulkWrite` across collections, see `write_together`)."""
    hello = await database.client.admin.command("hello")
    if not hello.get("setName") and hello.get("msg") != "isdbgrid":
        raise ConfigurationError(
            "MongoDB at MONGODB_URI is a standalone server; the payments service needs "
            "multi-document transactions. Run a replica set (e.g. `mongod --replSet rs0` "
            "then `rs.initiate()`), use MongoDB Atlas, or unset MONGODB_URI for the local default."
        )
    if hello.get("maxWireVersion", 0) < MIN_WIRE_VERSION:
        raise ConfigurationError(
            "MongoDB at MONGODB_URI is older than 8.0; the payments service sends writes to "
            "several collections in one command (bulkWrite), which needs MongoDB 8.0 or later."
        )


@contextmanager
def duplicates_raised() -> Iterator[None]:
    """A batch write (`insert_many`, `bulk_write`) that hits a duplicate key raises
    DuplicateKeyError, as a single write does, so callers handle both alike."""
    try:
        yield
    except BulkWriteError as exc:
        errors: list[Document] = exc.details.get("writeErrors") or []
        duplicate = next((error for error in errors if error.get("code") == DUPLICATE_KEY), None)
        if duplicate is None:
            raise
        raise DuplicateKeyError(duplicate.get("errmsg", "duplicate key"), DUPLICATE_KEY, duplicate) from exc


async def create_indexes(database: Database, indexes: Mapping[str, Sequence[IndexModel]]) -> None:
    for name, models in indexes.items():
        await database[name].create_indexes(list(models))
    log.info("indexes_ensured", collections=len(indexes))
