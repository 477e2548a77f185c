"""A buyer's dispute of one seller's part of an order, from its opening to an admin's resolution.

Opening freezes the escrow (`held` → `disputed`, compare-and-set in the transaction that records
the dispute, so it can never race a release into both: the release's own compare-and-set names
`held`), one open dispute per escrow (a partial unique index), passes the seller's gate (so a
payout request racing it is ordered before it or sees it), and notifies admins in the same
transaction. A seller already paid can be disputed within `DISPUTE_WINDOW_DAYS` of the release;
the dispute then marks the seller's transfer for recovery (`transferred`), and later it is 409
`dispute_window_closed`.

Resolution (admin): `refund_buyer` refunds everything the escrow keeps to where it came from
(`app.services.refunds`, the dispute resolved in the refund's transaction); `release_to_seller`
is checkout's one release, from `disputed`; `split` refunds `refund_amount` by source (card first,
or the admin's order) and releases the rest. A resolution interrupted between its refund and its
release is finished by asking again.

A paid seller's dispute is resolved the same way, except that nothing is left to release: the
platform refunds the buyer from its own money (`refund_paid_from`), and takes back from the
seller what they were paid beyond the net on what the escrow keeps (all of it for
`refund_buyer`) as a chargeback after payment does (`SellerRecovery`, started in the refund's
transaction, keyed by the dispute): their transfer reversed when their balance allows, else their
debt, taken from their next releases. `release_to_seller` leaves them what they have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import EscrowStatus, OrderNotPaid, ReleaseReason
from app.domain.disputes import (
    RESOLVED_AS,
    DisputeAlreadyOpen,
    DisputeKind,
    DisputeNotOpen,
    DisputeReason,
    DisputeStatus,
    DisputeWindowClosed,
    NotABuyerDispute,
    Outcome,
    RefundAmountRequired,
    dispute_id_for,
    recovery_id_for,
    repeats_resolution,
)
from app.domain.notifications import NotificationKind
from app.domain.refunds import DEFAULT_SOURCE_ORDER, EscrowNotRefundable, RefundSource
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.checkout import Escrow, EscrowChanged, EscrowReleases, Escrows
from app.services.disputes import metrics
from app.services.disputes.recovery import SellerRecovery
from app.services.disputes.repository import (
    Dispute,
    DisputeFilter,
    DisputePage,
    DisputeRepository,
    DisputeShare,
    as_dispute,
    dispute_document,
)
from app.services.notifications import Notifications
from app.services.refunds import RefundRequest, Refunds

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
STATUS_CHANGED = "dispute.status_changed"
OPEN_RETRIES = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OpenDispute:
    order_id: str
    seller_id: str
    reason: DisputeReason
    description: str


@dataclass(frozen=True, slots=True)
class Resolution:
    outcome: Outcome
    note: str
    refund_amount: int | None = None
    sources: Sequence[RefundSource] = ()


class Disputes:
    def __init__(
        self,
        database: Database,
        escrows: Escrows,
        releases: EscrowReleases,
        refunds: Refunds,
        recovery: SellerRecovery,
        notifications: Notifications,
        audit: AuditLog,
        window: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._escrows = escrows
        self._releases = releases
        self._refunds = refunds
        self._recovery = recovery
        self._notifications = notifications
        self._audit = audit
        self._window = window
        self._clock = clock
        self._disputes = DisputeRepository(database)

    # Reading

    async def visible(self, dispute_id: str, viewer_id: str, *, staff: bool) -> Dispute:
        """The dispute, for staff, its buyer and the sellers it concerns; anyone else: NotFound."""
        dispute = await self._disputes.get(dispute_id)
        if dispute is None or not (staff or viewer_id == dispute.buyer_id or viewer_id in dispute.seller_ids):
            raise NotFound(f"no dispute {dispute_id}")
        return dispute

    async def page(self, where: DisputeFilter, limit: int, starting_after: str | None) -> DisputePage:
        return await self._disputes.page(where, limit, starting_after)

    async def count_open(self, kind: DisputeKind) -> int:
        """Open buyers' disputes (waiting for an admin) or chargebacks (for Stripe's decision)."""
        return await self._disputes.count_open(kind)

    # Opening

    async def open(self, buyer_id: str, request: OpenDispute, idempotency_key: str, actor: Actor) -> Dispute:
        dispute_id = dispute_id_for(buyer_id, idempotency_key)
        escrows = [
            e
            for e in await self._escrows.of_order(request.order_id, request.seller_id)
            if e.buyer_id == buyer_id
        ]
        if not escrows:
            raise NotFound(f"no order {request.order_id} with seller {request.seller_id}")
        for _ in range(OPEN_RETRIES):
            try:
                return await self._db.transaction(
                    lambda session: self._open_in(session, dispute_id, escrows[0].id, request, actor)
                )
            except EscrowChanged:
                continue
            except DuplicateKeyError:
                existing = await self._disputes.get(dispute_id)
                if existing is not None:
                    return existing  # this request, opened before
                raise DisputeAlreadyOpen(f"a dispute is open on escrow {escrows[0].id}") from None
        raise EscrowChanged(f"escrow {escrows[0].id} kept changing while a dispute was opened")

    async def _open_in(
        self, session: AsyncClientSession, dispute_id: str, escrow_id: str, request: OpenDispute, actor: Actor
    ) -> Dispute:
        escrow = await self._escrows.get(escrow_id, session)
        if escrow is None:
            raise NotFound(f"no escrow {escrow_id}")
        now = self._clock()
        share, frozen = await self._stake(session, escrow, dispute_id, actor, now)
        # Ordered against the seller's payout requests: one racing this either sees the dispute
        # or was requested before it opened.
        gate = await self._disputes.pass_gate(session, escrow.seller_id)
        document = dispute_document(
            dispute_id,
            DisputeKind.BUYER,
            DisputeStatus.OPEN,
            escrow.currency,
            share.amount,
            [share],
            escrow.remaining,
            str(request.reason),
            now,
            order_id=escrow.order_id,
            buyer_id=escrow.buyer_id,
            escrow_id=escrow.id,
            description=request.description,
            frozen_escrow_ids=frozen,
        )
        await self._disputes.insert(session, document)
        dispute = as_dispute(document)
        await self._audit.record(
            session,
            actor,
            "dispute.opened",
            AuditObject("dispute", dispute.id),
            before=None,
            after={
                "status": str(dispute.status),
                "escrow_id": escrow.id,
                "amount": dispute.amount,
                "transferred": share.transferred,
                "gates": {escrow.seller_id: gate},
            },
        )
        await self._notifications.notify_in(
            session,
            NotificationKind.DISPUTE_OPENED,
            "dispute",
            dispute.id,
            f"Dispute opened on order {escrow.order_id} (seller {escrow.seller_id})",
            {
                "order_id": escrow.order_id,
                "seller_id": escrow.seller_id,
                "amount": dispute.amount,
                "currency": dispute.currency,
                "reason": dispute.reason,
                "transferred": share.transferred,
            },
        )
        metrics.OPENED.labels(str(DisputeKind.BUYER)).inc()
        return dispute

    async def _stake(
        self, session: AsyncClientSession, escrow: Escrow, dispute_id: str, actor: Actor, now: datetime
    ) -> tuple[DisputeShare, list[str]]:
        """What is at stake for the seller, and the escrows the dispute froze: a held escrow is
        frozen; a paid seller is disputed only within the window after the release."""
        if escrow.status is EscrowStatus.HELD:
            await self._escrows.move_in(
                session, escrow, EscrowStatus.DISPUTED, actor, f"dispute {dispute_id}"
            )
            return DisputeShare(escrow.id, escrow.seller_id, escrow.remaining.total), [escrow.id]
        if escrow.status is EscrowStatus.DISPUTED:
            raise DisputeAlreadyOpen(f"a dispute is open on escrow {escrow.id}")
        if escrow.status in (EscrowStatus.RELEASED, EscrowStatus.TRANSFERRED):
            if escrow.released_at is None or now - escrow.released_at > self._window:
                raise DisputeWindowClosed(
                    f"seller {escrow.seller_id} was paid more than {self._window.days} days ago"
                )
            return DisputeShare(escrow.id, escrow.seller_id, escrow.net, transferred=True), []
        if escrow.status is EscrowStatus.REFUNDED:
            raise EscrowNotRefundable(
                f"escrow {escrow.id} was refunded already", escrow_status=str(escrow.status)
            )
        raise OrderNotPaid(f"order {escrow.order_id} is not paid")

    # Resolving

    async def resolve(self, dispute_id: str, resolution: Resolution, actor: Actor) -> Dispute:
        dispute = await self._disputes.get(dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
        if dispute.kind is not DisputeKind.BUYER:
            raise NotABuyerDispute(f"dispute {dispute_id} is a chargeback: Stripe decides it")
        escrow = await self._escrows.get(dispute.escrow_id or "")
        if escrow is None:
            raise NotFound(f"no escrow of dispute {dispute_id}")
        if not dispute.open:
            if not repeats_resolution(dispute.status, resolution.outcome):
                raise DisputeNotOpen(f"dispute {dispute_id} is {dispute.status} already")
            return await self._finish(dispute, escrow, actor)
        if resolution.outcome is Outcome.RELEASE_TO_SELLER:
            if not dispute.transferred:
                await self._releases.release(
                    escrow, reason=ReleaseReason.DISPUTE_RESOLVED, actor=actor, source=EscrowStatus.DISPUTED
                )
            return await self._mark_resolved(dispute, resolution, actor)
        amount = None
        if resolution.outcome is Outcome.SPLIT:
            amount = resolution.refund_amount
            if amount is None or not 0 < amount < escrow.remaining.total:
                raise RefundAmountRequired(
                    f"a split refunds more than 0 and less than {escrow.remaining.total}"
                )
        refund = RefundRequest(
            refund_id=f"rf_{dispute.id}",
            escrow_id=escrow.id,
            amount=amount,
            sources=tuple(resolution.sources) or DEFAULT_SOURCE_ORDER,
            reason=f"dispute {dispute.id}: {resolution.outcome}",
            # A seller paid before the dispute was paid by a transfer made: one still being made
            # is not refunded yet (`escrow_not_refundable`), since it cannot be reversed.
            from_statuses=frozenset(
                {EscrowStatus.TRANSFERRED if dispute.transferred else EscrowStatus.DISPUTED}
            ),
            dispute_id=dispute.id,
        )

        async def resolved_in(session: AsyncClientSession, before: Escrow, after: Escrow) -> None:
            await self._mark_resolved_in(session, dispute, resolution, actor, refund.refund_id)
            if dispute.transferred and before.net > after.net:
                # The seller gives back what they were paid beyond the net on what is kept.
                await self._recovery.start_in(
                    session,
                    dispute.id,
                    escrow.id,
                    escrow.seller_id,
                    escrow.currency,
                    before.net - after.net,
                    actor,
                )

        await self._refunds.refund(refund, actor, along=resolved_in)
        current = await self._disputes.get(dispute.id) or dispute
        return await self._finish(current, escrow, actor)

    async def _finish(self, dispute: Dispute, escrow: Escrow, actor: Actor) -> Dispute:
        """What follows a refund (asked again after an interruption: done now): a split's
        release, or taking the paid seller's share back from them."""
        if dispute.transferred:
            recovery = await self._recovery.get(recovery_id_for(dispute.id, escrow.seller_id))
            if recovery is not None:
                await self._recovery.advance(recovery, actor)
            return dispute
        current = await self._escrows.get(escrow.id)
        if (
            dispute.status is DisputeStatus.RESOLVED_SPLIT
            and current
            and current.status is EscrowStatus.DISPUTED
        ):
            await self._releases.release(
                current, reason=ReleaseReason.DISPUTE_RESOLVED, actor=actor, source=EscrowStatus.DISPUTED
            )
        return dispute

    async def _mark_resolved(self, dispute: Dispute, resolution: Resolution, actor: Actor) -> Dispute:
        await self._db.transaction(
            lambda session: self._mark_resolved_in(session, dispute, resolution, actor, None)
        )
        return await self._disputes.get(dispute.id) or dispute

    async def _mark_resolved_in(
        self,
        session: AsyncClientSession,
        dispute: Dispute,
        resolution: Resolution,
        actor: Actor,
        refund_id: str | None,
    ) -> None:
        target = RESOLVED_AS[resolution.outcome]
        now = self._clock()
        fields: dict[str, object] = {
            "outcome": str(resolution.outcome),
            "note": resolution.note,
            "resolved_at": now,
            "resolved_by": actor.id,
        }
        if refund_id is not None:
            fields["refund_id"] = refund_id
        if not await self._disputes.move(session, dispute, target, now, **fields):
            raise DisputeNotOpen(f"dispute {dispute.id} was resolved meanwhile")
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("dispute", dispute.id),
            before={"status": str(dispute.status)},
            after={"status": str(target), "outcome": str(resolution.outcome), "note": resolution.note},
        )
        metrics.RESOLVED.labels(str(DisputeKind.BUYER), str(resolution.outcome)).inc()
