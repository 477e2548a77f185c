"""What other domains may do to an escrow besides releasing it: read it, freeze it for a dispute
(`held` → `disputed`) and thaw it, and take refunds out of it.

Each change runs inside the caller's transaction (its ledger entry and its own records go with
it) and is a compare-and-set on the escrow as the caller read it in that transaction: its status
and what was refunded from it. A release racing it names the same fields (`release_write`), so of
a freeze, a refund and a release running at once, each either sees the other's result or fails.
"""

from __future__ import annotations

from dataclasses import replace

from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import EscrowStatus, Funding, terms_after_refund
from app.domain.fees import FeeSchedule
from app.services.audit import AuditLog
from app.services.checkout.repository import Escrow, Order, OrderRepository, funding_document
from app.services.checkout.transfers import Clock, utc_now

STATUS_CHANGED = "escrow.status_changed"


class EscrowChanged(RuntimeError):
    """The escrow is no longer as the caller read it in its transaction: read it again."""


class Escrows:
    def __init__(
        self, database: Database, audit: AuditLog, fees: FeeSchedule, clock: Clock = utc_now
    ) -> None:
        self._orders = OrderRepository(database)
        self._audit = audit
        self._fees = fees
        self._clock = clock

    async def get(self, escrow_id: str, session: AsyncClientSession | None = None) -> Escrow | None:
        return await self._orders.escrow(escrow_id, session)

    async def of_order(self, order_id: str, seller_id: str | None = None) -> list[Escrow]:
        return await self._orders.escrows_of(order_id, seller_id=seller_id)

    async def order(self, order_id: str) -> Order | None:
        return await self._orders.get(order_id)

    async def move_in(
        self, session: AsyncClientSession, escrow: Escrow, target: EscrowStatus, actor: Actor, why: str
    ) -> Escrow:
        """`escrow` (as read in this transaction) → `target`, audited; raises EscrowChanged if it
        is not as read any more."""
        now = self._clock()
        if not await self._orders.move_escrow(session, escrow, target, now):
            raise EscrowChanged(f"escrow {escrow.id} changed since it was read")
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("escrow", escrow.id),
            before={"status": str(escrow.status)},
            after={"status": str(target), "why": why},
        )
        return replace(escrow, status=target, updated_at=now)

    async def refund_in(
        self,
        session: AsyncClientSession,
        escrow: Escrow,
        parts: Funding,
        target: EscrowStatus,
        actor: Actor,
        why: str,
    ) -> Escrow:
        """Take `parts` out of `escrow` (as read in this transaction; the caller moves the money):
        what it keeps, and the fee and net on that, recorded, and its status → `target`. Raises
        EscrowChanged if it is not as read any more; `parts` must fit in what it keeps."""
        if not escrow.remaining.covers(parts):
            raise ValueError(f"escrow {escrow.id} keeps {escrow.remaining}, less than {parts}")
        return await self._set_refunded(session, escrow, escrow.refunded + parts, target, actor, why)

    async def restore_in(
        self,
        session: AsyncClientSession,
        escrow: Escrow,
        parts: Funding,
        target: EscrowStatus,
        actor: Actor,
        why: str,
    ) -> Escrow:
        """Put `parts` back into `escrow` (a chargeback won gives the card money back), as
        `refund_in` takes them; at most what was taken."""
        if not escrow.refunded.covers(parts):
            raise ValueError(f"escrow {escrow.id} gave back {escrow.refunded}, less than {parts}")
        return await self._set_refunded(session, escrow, escrow.refunded - parts, target, actor, why)

    async def _set_refunded(
        self,
        session: AsyncClientSession,
        escrow: Escrow,
        refunded: Funding,
        target: EscrowStatus,
        actor: Actor,
        why: str,
    ) -> Escrow:
        fee, net = terms_after_refund(escrow.gross, refunded.total, self._fees, escrow.currency)
        now = self._clock()
        fields = {"refunded": funding_document(refunded), "fee": fee, "net": net}
        if not await self._orders.move_escrow(session, escrow, target, now, **fields):
            raise EscrowChanged(f"escrow {escrow.id} changed since it was read")
        await self._audit.record(
            session,
            actor,
            "escrow.refunded",
            AuditObject("escrow", escrow.id),
            before={"status": str(escrow.status), "refunded": funding_document(escrow.refunded)},
            after={"status": str(target), "refunded": fields["refunded"], "fee": fee, "net": net, "why": why},
        )
        return replace(escrow, status=target, updated_at=now, refunded=refunded, fee=fee, net=net)
