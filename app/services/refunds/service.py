"""Refunding a buyer from an escrow, each part to where it came from: before any seller is paid
from the escrow, and after (a buyer's dispute of a paid seller) from the platform's own money.

A refund is one transaction first: the escrow read in it and changed by compare-and-set (what it
keeps, by source, and its status: `refunded` once it keeps nothing), the refund recorded, and the
wallet and legacy parts given back (`WalletFunds.refund_to_sources_in`, entry `refund:{id}`, with
the legacy reserve adjustment), every part paid from the escrow while it holds the money and from
`platform:fees` once it paid its seller (`refund_paid_from`). Two refunds, or a refund and a
release, racing on one escrow from any number of processes conflict in MongoDB: one of them reads
the other's result and is refused (`refund_exceeds_paid`, `escrow_not_refundable`) or takes what
is left, never both the same money.

The card part is then refunded by a Stripe Refund on the order's PaymentIntent (a payment
operation keyed by the refund id). Stripe runs it asynchronously: once it accepts the refund the
card part leaves the escrow (or the platform) for the card (`refund_card:{id}`); `succeeded` ends
it; `failed` brings the money back where it was (`refund_card_failed:{id}`) and shows the refund to admins
with Stripe's `failure_reason`, who can give it to the buyer's wallet instead
(`refund_to_wallet:{id}`). A refusal at creation moves no money and ends the same way. An answer
lost on the way leaves the refund `pending` until the janitor or a refund event tells.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import PaymentProvider, Refund
from app.adapters.stripe_errors import PaymentProviderError
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import EscrowStatus
from app.domain.ledger import EntryKind
from app.domain.refunds import (
    STRIPE_ENDED_UNPAID,
    STRIPE_SUCCEEDED,
    EscrowNotRefundable,
    RefundNotFailed,
    RefundSource,
    RefundStatus,
    card_refund_entry,
    card_refund_failed_entry,
    refund_paid_from,
    refund_to_wallet_entry,
    source_refund,
    wallet_refund_key,
)
from app.domain.wallet import FundingSplit
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.checkout import Escrow, EscrowChanged, Escrows
from app.services.ledger import Ledger
from app.services.payment_operations import (
    CreateRefund,
    PaymentOperation,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
)
from app.services.refunds import metrics
from app.services.refunds.repository import (
    RefundPage,
    RefundRecord,
    RefundRepository,
    as_refund,
    refund_document,
)
from app.services.wallet import WalletEntry, WalletFunds

log = structlog.get_logger(__name__)

STATUS_CHANGED = "refund.status_changed"
# A refund racing another change of its escrow reads it again; each retry sees a later state.
ESCROW_RETRIES = 5
# Something to do in the refund's transaction (a dispute resolved by it), given the escrow as read
# in it and as the refund left it.
AlongRefund = Callable[[AsyncClientSession, Escrow, Escrow], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    refund_id: str
    escrow_id: str
    # None: everything the escrow keeps.
    amount: int | None
    sources: Sequence[RefundSource]
    reason: str
    # The statuses the escrow may be refunded from.
    from_statuses: frozenset[EscrowStatus]
    dispute_id: str | None = None


class Refunds:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        escrows: Escrows,
        wallet: WalletFunds,
        operations: PaymentOperations,
        provider: PaymentProvider,
        audit: AuditLog,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._escrows = escrows
        self._wallet = wallet
        self._operations = operations
        self._provider = provider
        self._audit = audit
        self._refunds = RefundRepository(database)

    async def get(self, refund_id: str) -> RefundRecord | None:
        return await self._refunds.get(refund_id)

    async def many(self, refund_ids: Sequence[str]) -> dict[str, RefundRecord]:
        """The refunds of `refund_ids` that exist, by id (at most a page of them: one read)."""
        return await self._refunds.many(refund_ids)

    async def count(self, status: RefundStatus) -> int:
        """How many refunds are in `status` (`failed`: a card part to act on)."""
        return await self._refunds.count(status)

    async def page(self, status: RefundStatus | None, limit: int, starting_after: str | None) -> RefundPage:
        return await self._refunds.page(status, limit, starting_after)

    # Refunding

    async def refund_order(
        self,
        order_id: str,
        seller_id: str,
        amount: int | None,
        sources: Sequence[RefundSource],
        reason: str,
        refund_id: str,
        actor: Actor,
    ) -> RefundRecord:
        """Refund all or part of seller `seller_id`'s held escrow of order `order_id` (an admin's
        refund outside any dispute)."""
        escrows = await self._escrows.of_order(order_id, seller_id)
        if not escrows:
            raise NotFound(f"no order {order_id} with seller {seller_id}")
        request = RefundRequest(
            refund_id=refund_id,
            escrow_id=escrows[0].id,
            amount=amount,
            sources=sources,
            reason=reason,
            from_statuses=frozenset({EscrowStatus.HELD}),
        )
        return await self.refund(request, actor)

    async def refund(
        self, request: RefundRequest, actor: Actor, along: AlongRefund | None = None
    ) -> RefundRecord:
        """Refund from the escrow (`request`), once per refund id: the wallet parts at once, the
        card part sent to Stripe; the refund as it is then. `along` runs in the refund's
        transaction. A refund id used before answers that refund (its card part sent again if
        its answer was lost)."""
        escrow = await self._escrows.get(request.escrow_id)
        order = await self._escrows.order(escrow.order_id) if escrow else None
        if escrow is None or order is None:
            raise NotFound(f"no escrow {request.escrow_id}")
        try:
            record = await self._reserve(request, order.payment_intent_id, actor, along)
        except DuplicateKeyError:
            existing = await self._refunds.get(request.refund_id)
            if existing is None:
                raise
            record = existing
        else:
            metrics.REFUNDS.labels("requested").inc()
            for source in RefundSource:
                if amount := getattr(record.parts, str(source)):
                    metrics.REFUNDED.labels(record.currency, str(source)).inc(amount)
        if record.status is RefundStatus.PENDING and not record.card_accepted:
            return await self._send_card(record, actor)
        return record

    async def _reserve(
        self, request: RefundRequest, payment_intent_id: str | None, actor: Actor, along: AlongRefund | None
    ) -> RefundRecord:
        for _ in range(ESCROW_RETRIES):
            try:
                return await self._db.transaction(
                    lambda session: self._reserve_in(session, request, payment_intent_id, actor, along)
                )
            except EscrowChanged:
                log.info("refund_escrow_changed", escrow_id=request.escrow_id, refund_id=request.refund_id)
        raise EscrowChanged(f"escrow {request.escrow_id} kept changing while it was refunded")

    async def _reserve_in(
        self,
        session: AsyncClientSession,
        request: RefundRequest,
        payment_intent_id: str | None,
        actor: Actor,
        along: AlongRefund | None,
    ) -> RefundRecord:
        escrow = await self._escrows.get(request.escrow_id, session)
        if escrow is None:
            raise NotFound(f"no escrow {request.escrow_id}")
        if escrow.status not in request.from_statuses:
            raise EscrowNotRefundable(
                f"escrow {escrow.id} is {escrow.status}", escrow_status=str(escrow.status)
            )
        remaining = escrow.remaining
        parts = source_refund(
            remaining, remaining.total if request.amount is None else request.amount, request.sources
        )
        target = EscrowStatus.REFUNDED if parts.total == remaining.total else escrow.status
        paid_from = refund_paid_from(escrow.status, escrow.ledger_account)
        before = escrow
        escrow = await self._escrows.refund_in(
            session, escrow, parts, target, actor, f"refund {request.refund_id}"
        )
        document = refund_document(
            request.refund_id,
            order_id=escrow.order_id,
            escrow_id=escrow.id,
            seller_id=escrow.seller_id,
            buyer_id=escrow.buyer_id,
            currency=escrow.currency,
            parts=parts,
            source_account=paid_from,
            payment_intent_id=payment_intent_id if parts.card else None,
            reason=request.reason,
            dispute_id=request.dispute_id,
            now=utc_now(),
        )
        await self._refunds.insert(session, document)
        record = as_refund(document)
        await self._audit.record(
            session,
            actor,
            "refund.created",
            AuditObject("refund", record.id),
            before=None,
            after={
                "status": str(record.status),
                "escrow_id": escrow.id,
                "legacy": parts.legacy,
                "wallet": parts.wallet,
                "card": parts.card,
                "paid_from": paid_from,
            },
        )
        if parts.legacy or parts.wallet:
            await self._wallet.refund_to_sources_in(
                session,
                escrow.buyer_id,
                FundingSplit(parts.legacy, parts.wallet, escrow.currency),
                paid_from,
                WalletEntry(
                    wallet_refund_key(record.id), EntryKind.REFUND, {**record.refs, "refund": record.id}
                ),
            )
        if along is not None:
            await along(session, before, escrow)
        return record

    # The card part at Stripe

    async def _send_card(self, record: RefundRecord, actor: Actor) -> RefundRecord:
        if record.payment_intent_id is None:
            raise ValueError(f"refund {record.id} has a card part but its order no PaymentIntent")
        request = CreateRefund(
            refund_id=record.id,
            payment_intent_id=record.payment_intent_id,
            amount=record.parts.card,
            reason="requested_by_customer",
            metadata={"order_id": record.order_id, "escrow_id": record.escrow_id},
        )
        try:
            stripe_refund = await self._operations.run(request, refs={"order_id": record.order_id})
        except PaymentProviderError as error:
            if error.outcome_unknown:
                log.warning("refund_outcome_unknown", refund_id=record.id, code=error.code)
                return record
            return await self._refused(record, error.stripe_code or error.code, actor)
        except (PaymentOperationConflict, PaymentOperationNeedsReview) as error:
            return await self._refused(record, error.code, actor)
        return await self.apply_stripe(record, stripe_refund, actor)

    async def apply_stripe(self, record: RefundRecord, stripe_refund: Refund, actor: Actor) -> RefundRecord:
        """What Stripe says of the card part: accepted (the money leaves for the card), then
        succeeded, or failed (the money is back). Each step once, whatever repeats it."""
        if not record.card_accepted and record.status is RefundStatus.PENDING:
            record = await self._accepted(record, stripe_refund, actor)
        if stripe_refund.status == STRIPE_SUCCEEDED and record.status is RefundStatus.PENDING:
            record = await self._move(record, RefundStatus.SUCCEEDED, actor)
        elif stripe_refund.status in STRIPE_ENDED_UNPAID and record.status in (
            RefundStatus.PENDING,
            RefundStatus.SUCCEEDED,
        ):
            record = await self._failed_after_acceptance(record, stripe_refund, actor)
        return record

    async def _accepted(self, record: RefundRecord, stripe_refund: Refund, actor: Actor) -> RefundRecord:
        async def accept_in(session: AsyncClientSession) -> bool:
            fields = {"card_accepted": True, "stripe_refund_id": stripe_refund.id, "updated_at": utc_now()}
            if not await self._refunds.update(session, record, fields, card_accepted=False):
                return False
            await self._audit.record(
                session,
                actor,
                "refund.card_accepted",
                AuditObject("refund", record.id),
                before={"card_accepted": False},
                after={"card_accepted": True, "stripe_refund_id": stripe_refund.id},
            )
            entry = card_refund_entry(
                record.id, record.source_account, record.parts.card, record.currency, record.refs
            )
            await self._ledger.post_in(session, entry)
            return True

        if await self._db.transaction(accept_in):
            log.info("refund_card_accepted", refund_id=record.id, stripe_refund=stripe_refund.id)
        return await self._current(record)

    async def _failed_after_acceptance(
        self, record: RefundRecord, stripe_refund: Refund, actor: Actor
    ) -> RefundRecord:
        reason = stripe_refund.failure_reason or stripe_refund.status or "failed"

        async def fail_in(session: AsyncClientSession) -> bool:
            fields = {"status": str(RefundStatus.FAILED), "failure_reason": reason, "updated_at": utc_now()}
            if not await self._refunds.update(session, record, fields, card_accepted=True):
                return False
            await self._status_audit(session, actor, record, RefundStatus.FAILED, failure_reason=reason)
            entry = card_refund_failed_entry(
                record.id, record.source_account, record.parts.card, record.currency, record.refs
            )
            await self._ledger.post_in(session, entry)
            return True

        if await self._db.transaction(fail_in):
            metrics.REFUNDS.labels("failed").inc()
            log.warning("refund_card_failed", refund_id=record.id, failure_reason=reason)
        return await self._current(record)

    async def _refused(self, record: RefundRecord, code: str, actor: Actor) -> RefundRecord:
        """Stripe refused the card part at creation: nothing left the platform."""

        async def refuse_in(session: AsyncClientSession) -> bool:
            fields = {"status": str(RefundStatus.FAILED), "failure_reason": code, "updated_at": utc_now()}
            if not await self._refunds.update(session, record, fields, card_accepted=False):
                return False
            await self._status_audit(session, actor, record, RefundStatus.FAILED, failure_reason=code)
            return True

        if await self._db.transaction(refuse_in):
            metrics.REFUNDS.labels("failed").inc()
            log.warning("refund_card_refused", refund_id=record.id, code=code)
        return await self._current(record)

    async def _move(self, record: RefundRecord, target: RefundStatus, actor: Actor) -> RefundRecord:
        async def move_in(session: AsyncClientSession) -> bool:
            if not await self._refunds.update(
                session, record, {"status": str(target), "updated_at": utc_now()}
            ):
                return False
            await self._status_audit(session, actor, record, target)
            return True

        if await self._db.transaction(move_in):
            metrics.REFUNDS.labels(str(target)).inc()
        return await self._current(record)

    async def _current(self, record: RefundRecord) -> RefundRecord:
        return await self._refunds.get(record.id) or record

    async def _status_audit(
        self,
        session: AsyncClientSession,
        actor: Actor,
        record: RefundRecord,
        target: RefundStatus,
        **details: str,
    ) -> None:
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("refund", record.id),
            before={"status": str(record.status)},
            after={"status": str(target), **details},
        )

    # A failed card part, to the wallet instead

    async def retry_to_wallet(self, refund_id: str, actor: Actor) -> RefundRecord:
        """Give a failed card part to the buyer's wallet; once (another call finds it done)."""
        record = await self._refunds.get(refund_id)
        if record is None:
            raise NotFound(f"no refund {refund_id}")
        if record.status is RefundStatus.RETRIED_TO_WALLET:
            return record
        if record.status is not RefundStatus.FAILED:
            raise RefundNotFailed(f"refund {refund_id} is {record.status}")

        async def retry_in(session: AsyncClientSession) -> bool:
            fields = {"status": str(RefundStatus.RETRIED_TO_WALLET), "updated_at": utc_now()}
            if not await self._refunds.update(session, record, fields):
                return False
            await self._status_audit(session, actor, record, RefundStatus.RETRIED_TO_WALLET)
            entry = refund_to_wallet_entry(
                record.id,
                record.source_account,
                record.buyer_id,
                record.parts.card,
                record.currency,
                record.refs,
            )
            await self._ledger.post_in(session, entry)
            return True

        if await self._db.transaction(retry_in):
            metrics.REFUNDS.labels(str(RefundStatus.RETRIED_TO_WALLET)).inc()
            log.info("refund_retried_to_wallet", refund_id=record.id, amount=record.parts.card)
        return await self._current(record)

    # Stripe's events and the janitor

    async def refresh_from_stripe(self, reported: Refund, actor: Actor) -> None:
        """A refund event says when to look: read the refund from Stripe and act on that."""
        record = await self._refunds.get(reported.metadata.get("refund_id", ""))
        if record is None:
            log.info("stripe_refund_not_ours", stripe_refund=reported.id)
            return
        ticket = await self._refunds.reserve_read(record.id)
        current = await self._provider.retrieve_refund(reported.id)
        await self.apply_stripe(record, current, actor)
        await self._refunds.store_stripe_status(record.id, ticket, current.status)

    async def refresh_charge(self, payment_intent_id: str, actor: Actor) -> None:
        """`charge.refunded` names the charge only: look at each of its refunds still pending."""
        for record in await self._refunds.pending_of(payment_intent_id):
            if record.stripe_refund_id is not None:
                await self.refresh_from_stripe(
                    await self._provider.retrieve_refund(record.stripe_refund_id), actor
                )

    async def learn_from_operation(self, operation: PaymentOperation) -> None:
        """The janitor settled a card part whose answer was lost: act on what it learnt."""
        record = await self._refunds.get(operation.request.get("refund_id", ""))
        if record is None or record.status is not RefundStatus.PENDING:
            return
        actor = Actor.job("reconcile_payment_operations")
        if operation.result is not None:
            stripe_refund = await self._provider.retrieve_refund(operation.result["id"])
            await self.apply_stripe(record, stripe_refund, actor)
        elif operation.error is not None:
            await self._refused(
                record, str(operation.error.get("stripe_code") or operation.error.get("code")), actor
            )
