"""Taking a chargeback back from a seller who was paid already.

One recovery per (chargeback, seller), written with the chargeback's withdrawal: the seller's
transfers for that escrow are reversed (a payment operation each, keyed by the recovery) for the
seller's share, and each reversal Stripe makes moves `seller:{id}:connected → platform:fees`
(entry `recovery:{reversal}`), making good the platform's loss. When Stripe refuses because the
seller's connected balance is short, what is left becomes the seller's debt (`SellerDebts`),
taken from their next releases first. A reversal whose outcome is unknown, or refused for another
reason, leaves the recovery `pending` for the recovery job to try again (same keys).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.stripe_errors import PaymentProviderError
from app.db import Collections, Database, Document
from app.domain.audit import Actor, AuditObject
from app.domain.disputes import recovery_entry_key
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.audit import AuditLog
from app.services.checkout import Escrows, SellerTransfers
from app.services.disputes.debts import SellerDebts
from app.services.jobs import Lease, runner_id
from app.services.ledger import Ledger
from app.services.payment_operations import (
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
    ReverseTransfer,
)

log = structlog.get_logger(__name__)

SHORT_OF_FUNDS = frozenset({"balance_insufficient"})
RECOVERY_JOB = "chargeback_recoveries"
LEASE_TTL = timedelta(minutes=10)


class RecoveryStatus(StrEnum):
    PENDING = "pending"
    RECOVERED = "recovered"
    # Stripe could not take (all of) it back: the rest is the seller's debt.
    DEBT = "debt"
    # The chargeback was won: nothing more is taken from the seller.
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Recovery:
    id: str
    dispute_id: str
    escrow_id: str
    seller_id: str
    currency: str
    amount: int
    recovered: int
    status: RecoveryStatus
    attempt: int


def recovery_document(
    recovery_id: str,
    dispute_id: str,
    escrow_id: str,
    seller_id: str,
    currency: str,
    amount: int,
    now: datetime,
) -> Document:
    return {
        "_id": recovery_id,
        "dispute_id": dispute_id,
        "escrow_id": escrow_id,
        "seller_id": seller_id,
        "currency": currency,
        "amount": amount,
        "recovered": 0,
        "status": str(RecoveryStatus.PENDING),
        "attempt": 1,
        "created_at": now,
        "updated_at": now,
    }


def as_recovery(document: Document) -> Recovery:
    return Recovery(
        id=document["_id"],
        dispute_id=document["dispute_id"],
        escrow_id=document["escrow_id"],
        seller_id=document["seller_id"],
        currency=document["currency"],
        amount=document["amount"],
        recovered=document["recovered"],
        status=RecoveryStatus(document["status"]),
        attempt=document["attempt"],
    )


class SellerRecovery:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        escrows: Escrows,
        transfers: SellerTransfers,
        operations: PaymentOperations,
        debts: SellerDebts,
        audit: AuditLog,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._escrows = escrows
        self._transfers = transfers
        self._operations = operations
        self._debts = debts
        self._audit = audit
        self._recoveries = database[Collections.SELLER_RECOVERIES]

    async def insert_in(self, session: AsyncClientSession, document: Document) -> None:
        await self._recoveries.insert_one(document, session=session)

    async def get(self, recovery_id: str) -> Recovery | None:
        document = await self._recoveries.find_one({"_id": recovery_id})
        return as_recovery(document) if document else None

    async def stop_in(self, session: AsyncClientSession, recovery_id: str, actor: Actor) -> None:
        """The chargeback was won: a recovery still pending stops, and a debt it left is
        forgiven as far as it is still owed (what was taken back already stays taken)."""
        document = await self._recoveries.find_one({"_id": recovery_id}, session=session)
        if document is None or document["status"] not in (RecoveryStatus.PENDING, RecoveryStatus.DEBT):
            return
        recovery = as_recovery(document)
        await self._recoveries.update_one(
            {"_id": recovery_id, "status": str(recovery.status)},
            {"$set": {"status": str(RecoveryStatus.STOPPED), "updated_at": datetime.now(UTC)}},
            session=session,
        )
        forgiven = 0
        if recovery.status is RecoveryStatus.DEBT:
            owed = await self._debts.owed(recovery.seller_id, recovery.currency, session)
            forgiven = min(owed, document.get("debt", 0))
            if forgiven:
                await self._debts.add_in(
                    session, recovery.seller_id, recovery.currency, -forgiven, actor, "chargeback won"
                )
        await self._audit.record(
            session,
            actor,
            "seller_recovery.stopped",
            AuditObject("seller_recovery", recovery_id),
            before={"status": str(recovery.status)},
            after={"status": str(RecoveryStatus.STOPPED), "debt_forgiven": forgiven},
        )

    async def recover(self, recovery: Recovery, actor: Actor) -> Recovery:
        """Reverse the seller's transfers of the escrow for what is left to recover; the rest,
        when their balance is short, becomes their debt."""
        if recovery.status is not RecoveryStatus.PENDING:
            return recovery
        escrow = await self._escrows.get(recovery.escrow_id)
        if escrow is None:
            return recovery
        for number, transfer_id in enumerate(escrow.transfer_ids):
            transfer = await self._transfers.get(transfer_id)
            left = recovery.amount - recovery.recovered
            if left <= 0 or transfer is None or transfer.stripe_transfer_id is None:
                continue
            reversible = transfer.amount - transfer.amount_reversed
            amount = min(left, reversible)
            if amount <= 0:
                continue
            request = ReverseTransfer(
                reversal_id=f"{recovery.id}_{recovery.attempt}_{number}",
                transfer_id=transfer.stripe_transfer_id,
                amount=amount,
            )
            try:
                reversal = await self._operations.run(request, refs={"seller_id": recovery.seller_id})
            except PaymentProviderError as error:
                if error.outcome_unknown or error.stripe_code not in SHORT_OF_FUNDS:
                    log.warning("chargeback_reversal_not_made", recovery_id=recovery.id, code=error.code)
                    return recovery
                return await self._to_debt(recovery, actor)
            except (PaymentOperationConflict, PaymentOperationNeedsReview) as error:
                log.warning("chargeback_reversal_needs_review", recovery_id=recovery.id, code=error.code)
                return recovery
            recovery = await self._reversed(recovery, reversal.id, request.reversal_id, amount, actor)
        if recovery.status is RecoveryStatus.PENDING and recovery.recovered < recovery.amount:
            return await self._to_debt(recovery, actor)
        return recovery

    async def _reversed(
        self, recovery: Recovery, stripe_reversal: str, reversal_id: str, amount: int, actor: Actor
    ) -> Recovery:
        recovered = recovery.recovered + amount
        status = RecoveryStatus.RECOVERED if recovered >= recovery.amount else RecoveryStatus.PENDING

        async def reversed_in(session: AsyncClientSession) -> None:
            moved = await self._recoveries.update_one(
                {"_id": recovery.id, "recovered": recovery.recovered, "status": str(RecoveryStatus.PENDING)},
                {"$set": {"recovered": recovered, "status": str(status), "updated_at": datetime.now(UTC)}},
                session=session,
            )
            if not moved.modified_count:
                return
            await self._audit.record(
                session,
                actor,
                "seller_recovery.reversed",
                AuditObject("seller_recovery", recovery.id),
                before={"recovered": recovery.recovered},
                after={"recovered": recovered, "status": str(status), "stripe_reversal": stripe_reversal},
            )
            move = Move(
                Accounts.seller_connected(recovery.seller_id),
                Accounts.PLATFORM_FEES,
                amount,
                recovery.currency,
            )
            posted = entry(
                recovery_entry_key(reversal_id),
                EntryKind.DISPUTE_LOSS,
                [move],
                dispute=recovery.dispute_id,
                seller=recovery.seller_id,
                stripe_reversal=stripe_reversal,
            )
            await self._ledger.post_in(session, posted)

        await self._db.transaction(reversed_in)
        log.info("chargeback_recovered_by_reversal", recovery_id=recovery.id, amount=amount)
        return await self.get(recovery.id) or recovery

    async def _to_debt(self, recovery: Recovery, actor: Actor) -> Recovery:
        owed = recovery.amount - recovery.recovered

        async def debt_in(session: AsyncClientSession) -> None:
            moved = await self._recoveries.update_one(
                {"_id": recovery.id, "recovered": recovery.recovered, "status": str(RecoveryStatus.PENDING)},
                {"$set": {"status": str(RecoveryStatus.DEBT), "debt": owed, "updated_at": datetime.now(UTC)}},
                session=session,
            )
            if not moved.modified_count:
                return
            await self._audit.record(
                session,
                actor,
                "seller_recovery.became_debt",
                AuditObject("seller_recovery", recovery.id),
                before={"status": str(recovery.status)},
                after={"status": str(RecoveryStatus.DEBT), "debt": owed},
            )
            await self._debts.add_in(
                session,
                recovery.seller_id,
                recovery.currency,
                owed,
                actor,
                f"chargeback {recovery.dispute_id}",
            )

        await self._db.transaction(debt_in)
        log.info(
            "chargeback_recorded_as_debt", recovery_id=recovery.id, seller_id=recovery.seller_id, owed=owed
        )
        return await self.get(recovery.id) or recovery

    async def retry_pending(
        self, actor: Actor, older_than: timedelta, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """Try again every recovery left pending (a reversal's answer lost, or refused)."""
        outcomes: Counter[str] = Counter()
        query = {"status": str(RecoveryStatus.PENDING), "updated_at": {"$lt": datetime.now(UTC) - older_than}}
        async for document in self._recoveries.find(query).sort("updated_at", ASCENDING):
            if keep_going is not None and not await keep_going():
                break
            outcomes[str((await self.recover(as_recovery(document), actor)).status)] += 1
        return outcomes


async def run_recoveries(
    database: Database, recovery: SellerRecovery, older_than: timedelta, owner: str | None = None
) -> Counter[str] | None:
    """One pass over pending recoveries under the job's lease; None when another runner holds it."""
    lease = Lease(database, RECOVERY_JOB, owner or runner_id(), LEASE_TTL)
    if not await lease.acquire():
        return None
    try:
        return await recovery.retry_pending(Actor.job(RECOVERY_JOB), older_than, lease.acquire)
    finally:
        await lease.release()
