"""Card chargebacks: Stripe's disputes of an order's charge, recorded as disputes of kind
`chargeback` with the view of where the disputed money is, and booked as Stripe moves it.

Every `charge.dispute.*` event only says when to look: the dispute is read again from Stripe and
everything follows from that, each step once whatever the events' number or order:

- the first look records the chargeback: the order's card money is spread over its escrows (what
  each still keeps of the card, in seller order); an escrow still holding it is frozen
  (`held` → `disputed`), a seller paid already gets a share to recover (at most their net); each
  seller at stake has their gate passed (a payout request racing it is ordered before it or sees
  it, `repository.py`);
- each withdrawal Stripe made (a negative balance transaction, `funds_withdrawn`) is booked once
  (`chargeback:{txn}`): a frozen escrow gives its part to the card, the platform advances the paid
  sellers' parts (`platform:fees → world:card`), whose recoveries start (`recovery.py`); the
  dispute fee is a Stripe fee (`stripe_fee:{txn}`);
- each reinstatement (a positive one, `funds_reinstated`: won) puts the money back where it came
  from: into the escrow, or to the platform that advanced it, and the fee back; what was taken
  from a paid seller already is owed back to them and paid by a new transfer (`recovery.py`);
- Stripe's status is mirrored by read tickets; once it is closed (`won`, `lost`) the escrows it
  froze are thawed (back to `held`, or `refunded` when they keep nothing), unless another dispute
  holds them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import BalanceTransaction, DisputeEvidence, PaymentProvider
from app.adapters.payment_provider import Dispute as StripeDispute
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import CHECKOUT_PURPOSE, EscrowStatus, Funding
from app.domain.disputes import (
    OPEN_STATUSES,
    DisputeKind,
    DisputeNotOpen,
    NotAChargeback,
    chargeback_entry_key,
    chargeback_id_for,
    chargeback_status,
    fill_in_order,
    recovery_id_for,
    seller_share,
)
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.notifications import NotificationKind
from app.domain.stripe_fees import stripe_fee_entry, stripe_fee_refund_entry
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.checkout import Escrow, EscrowChanged, Escrows
from app.services.disputes import metrics
from app.services.disputes.recovery import SellerRecovery
from app.services.disputes.repository import (
    Dispute,
    DisputeRepository,
    DisputeShare,
    as_dispute,
    dispute_document,
)
from app.services.ledger import Ledger
from app.services.notifications import Notifications
from app.services.payment_operations import PaymentOperations, SubmitDisputeEvidence

log = structlog.get_logger(__name__)

RETRIES = 5


class PaymentNotRecordedYet(RuntimeError):
    """A chargeback of an order whose payment is not recorded yet (events out of order)."""


HELD_OR_FROZEN = (EscrowStatus.HELD, EscrowStatus.DISPUTED)


class Chargebacks:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        escrows: Escrows,
        recovery: SellerRecovery,
        operations: PaymentOperations,
        provider: PaymentProvider,
        notifications: Notifications,
        audit: AuditLog,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._escrows = escrows
        self._recovery = recovery
        self._operations = operations
        self._provider = provider
        self._notifications = notifications
        self._audit = audit
        self._disputes = DisputeRepository(database)

    async def refresh_from_stripe(self, reported: StripeDispute, actor: Actor) -> Dispute:
        """A dispute event says when to look: record the chargeback if new, read it from Stripe,
        and book what Stripe did since."""
        dispute = await self._disputes.get(chargeback_id_for(reported.id)) or await self._record(
            reported, actor
        )
        ticket = await self._disputes.reserve_read(dispute.id)
        current = await self._provider.retrieve_dispute(reported.id)
        for transaction in current.balance_transactions:
            if transaction.amount < 0:
                await self._withdrawn(dispute, transaction, actor)
            elif transaction.amount > 0:
                await self._reinstated(dispute, transaction, actor)
        await self._store_status(dispute, ticket, current, actor)
        for share in dispute.shares:
            if share.transferred:
                recovery = await self._recovery.get(recovery_id_for(dispute.id, share.seller_id))
                if recovery is not None:
                    await self._recovery.advance(recovery, actor)
        return await self._disputes.get(dispute.id) or dispute

    async def submit_evidence(
        self, dispute_id: str, submission_id: str, evidence: DisputeEvidence, submit: bool, actor: Actor
    ) -> Dispute:
        """Send the admin's evidence to Stripe for chargeback `dispute_id` (submitted now unless
        `submit` is false), once per submission id; the chargeback as Stripe has it then."""
        dispute = await self._disputes.get(dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
        if dispute.kind is not DisputeKind.CHARGEBACK or dispute.stripe_dispute_id is None:
            raise NotAChargeback(f"dispute {dispute_id} is a buyer's dispute, resolved here")
        if not dispute.open:
            raise DisputeNotOpen(f"chargeback {dispute_id} is {dispute.status}")
        request = SubmitDisputeEvidence(
            evidence_id=submission_id, dispute_id=dispute.stripe_dispute_id, evidence=evidence, submit=submit
        )
        answered = await self._operations.run(request, refs={"dispute_id": dispute.id})

        async def audited(session: AsyncClientSession) -> None:
            await self._audit.record(
                session,
                actor,
                "dispute.evidence_submitted",
                AuditObject("dispute", dispute.id),
                before={"status": str(dispute.status)},
                after={"stripe_status": answered.status, "submitted": submit, "submission_id": submission_id},
            )

        await self._db.transaction(audited)
        return await self.refresh_from_stripe(answered, actor)

    # The chargeback, as first seen

    async def _record(self, reported: StripeDispute, actor: Actor) -> Dispute:
        intent = (
            await self._provider.retrieve_payment_intent(reported.payment_intent)
            if reported.payment_intent
            else None
        )
        order_id = (
            intent.metadata.get("order_id")
            if intent is not None and intent.metadata.get("purpose") == CHECKOUT_PURPOSE
            else None
        )
        # Each escrow is read again in the transaction; this names them.
        escrows = await self._escrows.of_order(order_id) if order_id else []
        for _ in range(RETRIES):
            try:
                return await self._db.transaction(
                    lambda session: self._record_in(session, reported, order_id, escrows, actor)
                )
            except EscrowChanged:
                continue
            except DuplicateKeyError:
                recorded = await self._disputes.get(chargeback_id_for(reported.id))
                if recorded is not None:
                    return recorded
                raise
        raise EscrowChanged(f"the escrows of order {order_id} kept changing while a chargeback was recorded")

    async def _record_in(
        self,
        session: AsyncClientSession,
        reported: StripeDispute,
        order_id: str | None,
        escrows: list[Escrow],
        actor: Actor,
    ) -> Dispute:
        dispute_id = chargeback_id_for(reported.id)
        current = [await self._escrows.get(escrow.id, session) or escrow for escrow in escrows]
        if any(escrow.status is EscrowStatus.AWAITING_FUNDS for escrow in current):
            # Its payment's event is not processed yet: this event is tried again after it.
            raise PaymentNotRecordedYet(f"order {order_id} is not recorded as paid yet")
        amounts = fill_in_order(reported.amount, [escrow.remaining.card for escrow in current])
        shares, frozen, funding = [], [], Funding()
        for escrow, amount in zip(current, amounts, strict=True):
            if amount == 0:
                continue
            funding = funding + escrow.remaining
            if escrow.status in HELD_OR_FROZEN:
                if escrow.status is EscrowStatus.HELD:
                    await self._escrows.move_in(
                        session, escrow, EscrowStatus.DISPUTED, actor, f"chargeback {reported.id}"
                    )
                    frozen.append(escrow.id)
                shares.append(DisputeShare(escrow.id, escrow.seller_id, amount))
            else:
                share = seller_share(amount, escrow.net)
                shares.append(DisputeShare(escrow.id, escrow.seller_id, share, transferred=True))
        # Ordered against each seller's payout requests, as a buyer's dispute is.
        gates = {
            seller_id: await self._disputes.pass_gate(session, seller_id)
            for seller_id in sorted({share.seller_id for share in shares})
        }
        now = datetime.now(UTC)
        document = dispute_document(
            dispute_id,
            DisputeKind.CHARGEBACK,
            chargeback_status(reported.status),
            reported.currency,
            reported.amount,
            shares,
            funding if shares else Funding(card=reported.amount),
            reported.reason,
            now,
            order_id=order_id,
            buyer_id=current[0].buyer_id if current else None,
            stripe_dispute_id=reported.id,
            charge_id=reported.charge,
            payment_intent_id=reported.payment_intent,
            evidence_due_by=datetime.fromtimestamp(reported.evidence_due_by, UTC)
            if reported.evidence_due_by
            else None,
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
                "kind": "chargeback",
                "status": str(dispute.status),
                "amount": dispute.amount,
                "frozen": frozen,
                "gates": gates,
            },
        )
        await self._notifications.notify_in(
            session,
            NotificationKind.CHARGEBACK_OPENED,
            "dispute",
            dispute.id,
            f"Chargeback of {reported.amount} {reported.currency} on charge {reported.charge}",
            {
                "stripe_dispute_id": reported.id,
                "order_id": order_id,
                "amount": reported.amount,
                "currency": reported.currency,
                "reason": reported.reason,
                "transferred": dispute.transferred,
            },
        )
        metrics.OPENED.labels(str(DisputeKind.CHARGEBACK)).inc()
        return dispute

    # What Stripe took, and gave back

    async def _withdrawn(self, dispute: Dispute, transaction: BalanceTransaction, actor: Actor) -> None:
        for _ in range(RETRIES):
            try:
                await self._db.transaction(
                    lambda session: self._withdrawn_in(session, dispute, transaction, actor)
                )
                log.info("chargeback_withdrawn", dispute_id=dispute.id, amount=-transaction.amount)
                return
            except DuplicateKeyError:
                return  # booked before
            except EscrowChanged:
                continue

    async def _withdrawn_in(
        self, session: AsyncClientSession, dispute: Dispute, transaction: BalanceTransaction, actor: Actor
    ) -> None:
        currency = dispute.currency
        moves, left = [], -transaction.amount
        for share in dispute.shares:
            if share.transferred:
                await self._recovery.start_in(
                    session, dispute.id, share.escrow_id, share.seller_id, currency, share.amount, actor
                )
                continue
            escrow = await self._escrows.get(share.escrow_id, session)
            taken = min(left, share.amount, escrow.remaining.card) if escrow is not None else 0
            if escrow is not None and taken > 0:
                why = f"chargeback {dispute.stripe_dispute_id}"
                await self._escrows.refund_in(session, escrow, Funding(card=taken), escrow.status, actor, why)
                moves.append(Move(escrow.ledger_account, Accounts.CARD, taken, currency))
                left -= taken
        if left > 0:
            # Advanced by the platform: paid sellers' parts (recovered from them), anything else its loss.
            moves.append(Move(Accounts.PLATFORM_FEES, Accounts.CARD, left, currency))
        posted = entry(
            chargeback_entry_key(transaction.id),
            EntryKind.DISPUTE_LOSS,
            moves,
            dispute=dispute.id,
            stripe_dispute=dispute.stripe_dispute_id or "",
            balance_transaction=transaction.id,
        )
        await self._ledger.post_in(session, posted)
        if transaction.fee > 0:
            fee = stripe_fee_entry(
                transaction.id,
                transaction.fee,
                currency,
                charge=dispute.charge_id,
                payment_intent=dispute.payment_intent_id,
            )
            await self._ledger.post_in(session, fee)
        await self._audit.record(
            session,
            actor,
            "dispute.funds_withdrawn",
            AuditObject("dispute", dispute.id),
            before=None,
            after={
                "amount": -transaction.amount,
                "fee": transaction.fee,
                "balance_transaction": transaction.id,
            },
        )

    async def _reinstated(self, dispute: Dispute, transaction: BalanceTransaction, actor: Actor) -> None:
        for _ in range(RETRIES):
            try:
                await self._db.transaction(
                    lambda session: self._reinstated_in(session, dispute, transaction, actor)
                )
                log.info("chargeback_reinstated", dispute_id=dispute.id, amount=transaction.amount)
                return
            except DuplicateKeyError:
                return  # booked before
            except EscrowChanged:
                continue

    async def _reinstated_in(
        self, session: AsyncClientSession, dispute: Dispute, transaction: BalanceTransaction, actor: Actor
    ) -> None:
        """Won: what a frozen escrow gave goes back into it; what the platform advanced goes
        back to the platform, which takes nothing more from the seller and owes them back what it
        took already (the recovery stops, and repays after this transaction)."""
        currency = dispute.currency
        moves, left = [], transaction.amount
        for share in dispute.shares:
            escrow = await self._escrows.get(share.escrow_id, session)
            if escrow is None or share.transferred:
                continue
            given = min(left, share.amount, escrow.refunded.card)
            if given > 0:
                await self._escrows.restore_in(
                    session,
                    escrow,
                    Funding(card=given),
                    escrow.status,
                    actor,
                    f"chargeback {dispute.stripe_dispute_id} won",
                )
                moves.append(Move(Accounts.CARD, escrow.ledger_account, given, currency))
                left -= given
        if left > 0:
            moves.append(Move(Accounts.CARD, Accounts.PLATFORM_FEES, left, currency))
        for share in dispute.shares:
            if share.transferred:
                await self._recovery.stop_in(session, recovery_id_for(dispute.id, share.seller_id), actor)
        posted = entry(
            chargeback_entry_key(transaction.id),
            EntryKind.DISPUTE_LOSS,
            moves,
            dispute=dispute.id,
            stripe_dispute=dispute.stripe_dispute_id or "",
            balance_transaction=transaction.id,
        )
        await self._ledger.post_in(session, posted)
        if transaction.fee < 0:
            await self._ledger.post_in(
                session,
                stripe_fee_refund_entry(transaction.id, -transaction.fee, currency, charge=dispute.charge_id),
            )
        await self._audit.record(
            session,
            actor,
            "dispute.funds_reinstated",
            AuditObject("dispute", dispute.id),
            before=None,
            after={
                "amount": transaction.amount,
                "fee": transaction.fee,
                "balance_transaction": transaction.id,
            },
        )

    # Stripe's status

    async def _store_status(
        self, dispute: Dispute, ticket: int, current: StripeDispute, actor: Actor
    ) -> None:
        status = chargeback_status(current.status)

        async def store_in(session: AsyncClientSession) -> None:
            before = await self._disputes.store_stripe_status(
                session, dispute.id, ticket, status, datetime.now(UTC)
            )
            if before is None or before["status"] == str(status):
                return
            await self._audit.record(
                session,
                actor,
                "dispute.status_changed",
                AuditObject("dispute", dispute.id),
                before={"status": before["status"]},
                after={"status": str(status)},
            )
            if before["open"] and status not in OPEN_STATUSES:
                await self._thaw(session, dispute, actor)
                metrics.RESOLVED.labels(str(DisputeKind.CHARGEBACK), str(status)).inc()

        for _ in range(RETRIES):
            try:
                await self._db.transaction(store_in)
                return
            except EscrowChanged:
                continue

    async def _thaw(self, session: AsyncClientSession, dispute: Dispute, actor: Actor) -> None:
        for escrow_id in dispute.frozen_escrow_ids:
            escrow = await self._escrows.get(escrow_id, session)
            if escrow is None or escrow.status is not EscrowStatus.DISPUTED:
                continue
            if await self._disputes.others_open_on(session, escrow_id, dispute.id):
                continue
            target = EscrowStatus.HELD if escrow.remaining.total else EscrowStatus.REFUNDED
            await self._escrows.move_in(
                session, escrow, target, actor, f"chargeback {dispute.stripe_dispute_id} closed"
            )
