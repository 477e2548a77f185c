"""Taking back from a seller who was paid already what a chargeback or a buyer's refund cost.

One recovery per (dispute, seller), started in the transaction that makes the platform pay (the
chargeback's withdrawal, or the refund of a buyer's dispute of a paid seller): the seller's
transfers for that escrow are reversed (a payment operation each, keyed by the recovery, so by the
dispute) for the seller's share, and each reversal Stripe makes moves `seller:{id}:connected →
platform:fees` (entry `recovery:{reversal}`), making good the platform's loss. When Stripe refuses
because the seller's connected balance is short, what is left becomes the seller's debt
(`SellerDebts`), taken from their next releases first. A reversal whose outcome is unknown, or
refused for another reason, leaves the recovery `pending` for the recovery job to try again (same
keys).

A chargeback won stops its recoveries: nothing more is taken, the debt still owed is forgiven, and
what was taken already (reversals, and what their releases paid of the debt) is owed back to the
seller (`repaying`: `platform:fees → seller:{id}:pending_transfer`, entry `recovery_owed:{id}`)
and paid by a new transfer keyed from the recovery (`recovery_repaid:{id}` moves it to their
connected account). A refused repayment is tried again by the job under a new attempt.
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

from app.adapters.payment_provider import TransferReversal
from app.adapters.stripe_errors import PaymentProviderError
from app.db import Collections, Database, Document
from app.domain.audit import Actor, AuditObject
from app.domain.disputes import (
    recovery_entry_key,
    recovery_id_for,
    repaid_entry_key,
    repayment_attempt_id,
    repayment_entry_key,
)
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.audit import AuditLog
from app.services.checkout import Escrows, SellerTransfers
from app.services.disputes.debts import SellerDebts
from app.services.jobs import Lease, runner_id
from app.services.ledger import Ledger
from app.services.payment_operations import (
    CreateTransfer,
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
    # The chargeback was won before anything was taken from the seller.
    STOPPED = "stopped"
    # The chargeback was won after something was taken: it is owed back to the seller...
    REPAYING = "repaying"
    # ... and was paid back by a transfer.
    REPAID = "repaid"


# What the recovery job drives on: reversals to make, repayments to send.
UNFINISHED = (RecoveryStatus.PENDING, RecoveryStatus.REPAYING)
STOPPABLE = frozenset({RecoveryStatus.PENDING, RecoveryStatus.RECOVERED, RecoveryStatus.DEBT})


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
    # What became the seller's debt when Stripe could not take it all back.
    debt: int = 0
    # What is owed back to the seller (a chargeback won), and the transfer that paid it.
    repay: int = 0
    repayment_transfer: str | None = None


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
        debt=document.get("debt", 0),
        repay=document.get("repay", 0),
        repayment_transfer=document.get("repayment_transfer"),
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

    async def start_in(
        self,
        session: AsyncClientSession,
        dispute_id: str,
        escrow_id: str,
        seller_id: str,
        currency: str,
        amount: int,
        actor: Actor,
    ) -> str:
        """Start taking `amount` back from seller `seller_id`, paid from escrow `escrow_id`, for
        dispute `dispute_id` (inside the transaction where the platform pays); its id. Once per
        dispute and seller: a second start raises DuplicateKeyError."""
        recovery_id = recovery_id_for(dispute_id, seller_id)
        document = recovery_document(
            recovery_id, dispute_id, escrow_id, seller_id, currency, amount, datetime.now(UTC)
        )
        await self._recoveries.insert_one(document, session=session)
        await self._audit.record(
            session,
            actor,
            "seller_recovery.started",
            AuditObject("seller_recovery", recovery_id),
            before=None,
            after={"status": str(RecoveryStatus.PENDING), "amount": amount, "dispute_id": dispute_id},
        )
        return recovery_id

    async def _changed_in(
        self,
        session: AsyncClientSession,
        recovery_id: str,
        expected: Document,
        update: Document,
        actor: Actor,
        action: str,
        *,
        before: Document,
        after: Document,
    ) -> bool:
        """Compare-and-set of a recovery (`expected` as read, else nothing changes) with its audit
        record, in the caller's transaction; whether it changed."""
        stamped = {**update, "$set": {**update.get("$set", {}), "updated_at": datetime.now(UTC)}}
        moved = await self._recoveries.update_one({"_id": recovery_id, **expected}, stamped, session=session)
        if not moved.modified_count:
            return False
        await self._audit.record(
            session,
            actor,
            f"seller_recovery.{action}",
            AuditObject("seller_recovery", recovery_id),
            before=before,
            after=after,
        )
        return True

    async def get(self, recovery_id: str) -> Recovery | None:
        document = await self._recoveries.find_one({"_id": recovery_id})
        return as_recovery(document) if document else None

    async def advance(self, recovery: Recovery, actor: Actor) -> Recovery:
        """Whatever the recovery waits for: its reversals (`pending`) or its repayment
        (`repaying`); anything else is done."""
        if recovery.status is RecoveryStatus.PENDING:
            return await self.recover(recovery, actor)
        if recovery.status is RecoveryStatus.REPAYING:
            return await self._repay(recovery, actor)
        return recovery

    async def stop_in(self, session: AsyncClientSession, recovery_id: str, actor: Actor) -> None:
        """The chargeback was won (inside the transaction booking the reinstatement): nothing
        more is taken from the seller, a debt the recovery left is forgiven as far as it is still
        owed, and what was taken already is owed back to them (`repaying`, sent by `advance`
        after the transaction)."""
        document = await self._recoveries.find_one({"_id": recovery_id}, session=session)
        if document is None or document["status"] not in STOPPABLE:
            return
        recovery = as_recovery(document)
        forgiven = 0
        if recovery.status is RecoveryStatus.DEBT:
            owed = await self._debts.owed(recovery.seller_id, recovery.currency, session)
            forgiven = min(owed, recovery.debt)
            if forgiven:
                await self._debts.add_in(
                    session, recovery.seller_id, recovery.currency, -forgiven, actor, "chargeback won"
                )
        # Reversals made, and the part of the debt their releases paid already.
        taken = recovery.recovered + recovery.debt - forgiven
        target = RecoveryStatus.REPAYING if taken else RecoveryStatus.STOPPED
        if not await self._changed_in(
            session,
            recovery_id,
            {"status": str(recovery.status), "recovered": recovery.recovered},
            {"$set": {"status": str(target), "repay": taken}},
            actor,
            "stopped",
            before={"status": str(recovery.status)},
            after={"status": str(target), "debt_forgiven": forgiven, "owed_back": taken},
        ):
            return
        if taken:
            move = Move(
                Accounts.PLATFORM_FEES,
                Accounts.seller_pending_transfer(recovery.seller_id),
                taken,
                recovery.currency,
            )
            owed_back = entry(
                repayment_entry_key(recovery_id),
                EntryKind.DISPUTE_LOSS,
                [move],
                dispute=recovery.dispute_id,
                seller=recovery.seller_id,
            )
            await self._ledger.post_in(session, owed_back)

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
            recovery = await self._reversed(recovery, reversal, request.reversal_id, amount, actor)
        if recovery.status is RecoveryStatus.PENDING and recovery.recovered < recovery.amount:
            return await self._to_debt(recovery, actor)
        return recovery

    async def _reversed(
        self, recovery: Recovery, reversal: TransferReversal, reversal_id: str, amount: int, actor: Actor
    ) -> Recovery:
        recovered = recovery.recovered + amount
        status = RecoveryStatus.RECOVERED if recovered >= recovery.amount else RecoveryStatus.PENDING

        async def reversed_in(session: AsyncClientSession) -> None:
            if not await self._changed_in(
                session,
                recovery.id,
                {"recovered": recovery.recovered, "status": str(RecoveryStatus.PENDING)},
                {"$set": {"recovered": recovered, "status": str(status)}},
                actor,
                "reversed",
                before={"recovered": recovery.recovered},
                after={"recovered": recovered, "status": str(status), "stripe_reversal": reversal.id},
            ):
                return
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
                stripe_reversal=reversal.id,
                # The reversal is found at Stripe under its transfer (reconciliation reads it so).
                stripe_transfer=reversal.transfer,
            )
            await self._ledger.post_in(session, posted)

        await self._db.transaction(reversed_in)
        log.info("chargeback_recovered_by_reversal", recovery_id=recovery.id, amount=amount)
        return await self.get(recovery.id) or recovery

    async def _to_debt(self, recovery: Recovery, actor: Actor) -> Recovery:
        owed = recovery.amount - recovery.recovered

        async def debt_in(session: AsyncClientSession) -> None:
            if not await self._changed_in(
                session,
                recovery.id,
                {"recovered": recovery.recovered, "status": str(RecoveryStatus.PENDING)},
                {"$set": {"status": str(RecoveryStatus.DEBT), "debt": owed}},
                actor,
                "became_debt",
                before={"status": str(recovery.status)},
                after={"status": str(RecoveryStatus.DEBT), "debt": owed},
            ):
                return
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

    async def _repay(self, recovery: Recovery, actor: Actor) -> Recovery:
        """Pay back what a won chargeback owes the seller, by a transfer keyed by the recovery's
        attempt; refused, the next attempt waits for the job."""
        escrow = await self._escrows.get(recovery.escrow_id)
        destination = await self._transfers.destination(recovery.seller_id)
        if escrow is None or destination is None:
            log.info("chargeback_repayment_waits", recovery_id=recovery.id, seller_id=recovery.seller_id)
            return recovery
        request = CreateTransfer(
            escrow_id=escrow.id,
            order_id=escrow.order_id,
            destination=destination,
            amount=recovery.repay,
            currency=recovery.currency,
            metadata={
                "recovery_id": recovery.id,
                "dispute_id": recovery.dispute_id,
                "seller_id": recovery.seller_id,
            },
            attempt_id=repayment_attempt_id(recovery.id, recovery.attempt),
        )
        try:
            made = await self._operations.run(request, refs={"seller_id": recovery.seller_id})
        except PaymentProviderError as error:
            if error.outcome_unknown:
                log.warning("chargeback_repayment_outcome_unknown", recovery_id=recovery.id, code=error.code)
                return recovery
            return await self._repayment_refused(recovery, error.stripe_code or error.code, actor)
        except (PaymentOperationConflict, PaymentOperationNeedsReview) as error:
            log.warning("chargeback_repayment_needs_review", recovery_id=recovery.id, code=error.code)
            return recovery
        return await self._repaid(recovery, made.id, actor)

    async def _repaid(self, recovery: Recovery, stripe_transfer: str, actor: Actor) -> Recovery:
        async def repaid_in(session: AsyncClientSession) -> None:
            if not await self._changed_in(
                session,
                recovery.id,
                {"status": str(RecoveryStatus.REPAYING)},
                {"$set": {"status": str(RecoveryStatus.REPAID), "repayment_transfer": stripe_transfer}},
                actor,
                "repaid",
                before={"status": str(RecoveryStatus.REPAYING)},
                after={
                    "status": str(RecoveryStatus.REPAID),
                    "repaid": recovery.repay,
                    "stripe_transfer": stripe_transfer,
                },
            ):
                return
            move = Move(
                Accounts.seller_pending_transfer(recovery.seller_id),
                Accounts.seller_connected(recovery.seller_id),
                recovery.repay,
                recovery.currency,
            )
            posted = entry(
                repaid_entry_key(recovery.id),
                EntryKind.TRANSFER,
                [move],
                dispute=recovery.dispute_id,
                seller=recovery.seller_id,
                stripe_transfer=stripe_transfer,
            )
            await self._ledger.post_in(session, posted)

        await self._db.transaction(repaid_in)
        log.info(
            "chargeback_repaid_to_seller",
            recovery_id=recovery.id,
            seller_id=recovery.seller_id,
            amount=recovery.repay,
            stripe_transfer=stripe_transfer,
        )
        return await self.get(recovery.id) or recovery

    async def _repayment_refused(self, recovery: Recovery, code: str, actor: Actor) -> Recovery:
        """Stripe refused the repayment (the platform's balance short, the seller unable to
        receive): the next try is a new attempt, since Stripe replays a refusal under its key."""

        async def refused_in(session: AsyncClientSession) -> None:
            await self._changed_in(
                session,
                recovery.id,
                {"status": str(RecoveryStatus.REPAYING), "attempt": recovery.attempt},
                {"$inc": {"attempt": 1}, "$set": {"last_error": code}},
                actor,
                "repayment_refused",
                before={"attempt": recovery.attempt},
                after={"attempt": recovery.attempt + 1, "code": code},
            )

        await self._db.transaction(refused_in)
        log.warning("chargeback_repayment_refused", recovery_id=recovery.id, code=code)
        return await self.get(recovery.id) or recovery

    async def retry_pending(
        self, actor: Actor, older_than: timedelta, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """Try again every recovery left unfinished: reversals (an answer lost, or refused) and
        repayments (refused, or not sent yet)."""
        outcomes: Counter[str] = Counter()
        before = datetime.now(UTC) - older_than
        for status in UNFINISHED:
            query = {"status": str(status), "updated_at": {"$lt": before}}
            async for document in self._recoveries.find(query).sort("updated_at", ASCENDING):
                if keep_going is not None and not await keep_going():
                    return outcomes
                outcomes[str((await self.advance(as_recovery(document), actor)).status)] += 1
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
