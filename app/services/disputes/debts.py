"""What sellers owe the platform, and the guard payouts need.

A chargeback on money already transferred is taken back from the seller by reversing their
transfer; what their connected balance cannot cover is the platform's loss for now and the
seller's debt, recorded here apart from the ledger (not as a negative balance: custody never goes
below zero). The debt is taken from the seller's next releases first (`recover_in`, called by
`EscrowReleases` inside the release's transaction), by a conditional decrement that cannot take
more than is owed, however many releases run at once.

`DisputeHolds` answers the payouts' questions: does seller S have an open dispute or chargeback,
and for how much; and what does S owe the platform. Both are indexed reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database
from app.domain.audit import Actor, AuditObject
from app.services.audit import AuditLog
from app.services.disputes.repository import DisputeRepository, GatedStanding, SellerHold

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def debt_id(seller_id: str, currency: str) -> str:
    return f"{seller_id}|{currency}"


class SellerDebts:
    """What each seller owes the platform, per currency."""

    def __init__(self, database: Database, audit: AuditLog, clock: Clock = utc_now) -> None:
        self._debts = database[Collections.SELLER_DEBTS]
        self._audit = audit
        self._clock = clock

    async def owed(self, seller_id: str, currency: str, session: AsyncClientSession | None = None) -> int:
        document = await self._debts.find_one(
            {"_id": debt_id(seller_id, currency)}, {"owed": True}, session=session
        )
        return int(document["owed"]) if document else 0

    async def add_in(
        self,
        session: AsyncClientSession,
        seller_id: str,
        currency: str,
        amount: int,
        actor: Actor,
        reason: str,
    ) -> None:
        """The seller owes `amount` more (inside the caller's transaction)."""
        now = self._clock()
        document = await self._debts.find_one_and_update(
            {"_id": debt_id(seller_id, currency)},
            {
                "$inc": {"owed": amount},
                "$set": {"updated_at": now},
                "$setOnInsert": {"seller_id": seller_id, "currency": currency, "created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert document is not None  # an upsert always returns the document
        await self._audit.record(
            session,
            actor,
            "seller_debt.changed",
            AuditObject("seller_debt", debt_id(seller_id, currency)),
            before={"owed": document["owed"] - amount},
            after={"owed": document["owed"], "why": reason},
        )

    async def recover_in(
        self,
        session: AsyncClientSession,
        seller_id: str,
        currency: str,
        at_most: int,
        escrow_id: str,
        actor: Actor,
    ) -> int:
        """Take up to `at_most` of the seller's debt (a release's net, in its transaction); how
        much was taken. The decrement names the amount read, so a release racing another one
        for the same seller conflicts instead of both taking the same debt."""
        owed = await self.owed(seller_id, currency, session)
        taken = min(owed, at_most)
        if taken <= 0:
            return 0
        changed = await self._debts.update_one(
            {"_id": debt_id(seller_id, currency), "owed": owed},
            {"$inc": {"owed": -taken}, "$set": {"updated_at": self._clock()}},
            session=session,
        )
        if changed.modified_count != 1:
            raise DebtChanged(f"the debt of {seller_id} changed while a release read it")
        await self._audit.record(
            session,
            actor,
            "seller_debt.changed",
            AuditObject("seller_debt", debt_id(seller_id, currency)),
            before={"owed": owed},
            after={"owed": owed - taken, "why": f"recovered from escrow {escrow_id}"},
        )
        return taken


class DebtChanged(RuntimeError):
    """Another transaction changed the debt after this one read it (the transaction is retried)."""


class DisputeHolds:
    """The questions payouts ask of disputes, each one indexed read."""

    def __init__(self, database: Database, debts: SellerDebts) -> None:
        self._disputes = DisputeRepository(database)
        self._debts = debts

    async def hold_of(self, seller_id: str) -> SellerHold:
        """Seller `seller_id`'s open disputes and chargebacks, and the money at stake, by currency."""
        return await self._disputes.hold_of(seller_id)

    async def gated_standing_in(
        self, session: AsyncClientSession, seller_id: str, currency: str
    ) -> GatedStanding:
        """The seller's hold and debt read in the caller's transaction with their gate, which
        every dispute's and chargeback's opening on their money passes too, and the write that
        passes it. Sent in that transaction, a dispute opening meanwhile is either in this hold or
        opens after the caller commits; the count of that pass orders the caller among the openings."""
        hold, owed, passes = await self._disputes.standing_in(
            session, seller_id, debt_id(seller_id, currency)
        )
        return GatedStanding(hold, owed, passes + 1, self._disputes.gate_pass_write(seller_id))

    async def owed_by(self, seller_id: str, currency: str) -> int:
        """What seller `seller_id` owes the platform in `currency` (taken from their next releases)."""
        return await self._debts.owed(seller_id, currency)
