"""Releasing escrow to its seller: the one release, used by the buyer's delivery confirmation, by
auto-release after `ESCROW_AUTO_RELEASE_DAYS`, and by whoever else decides a seller is to be paid
(`EscrowReleases.release`, public: dispute resolution calls it with `source=` its own status).

A release is one transaction: the escrow moves from `source` (`held`) to `released` by
compare-and-set, so whatever else moves it out of `held` first (a dispute freezing it) makes the
release fail instead of both happening; the ledger moves the escrow to `platform:fees` (the fee)
and `seller:{id}:pending_transfer` (the net), once (`escrow_release:{escrow_id}`); and the
transfers the net is paid by are written (`transfers.py` sends them), with the payment operation
of each that can be sent now recorded pending: a process that stops before making the Stripe
call leaves it to the janitor and the transfer job, which make it once, under its key.
Confirmation, auto-release and a second confirmation racing each other release once: the loser
finds the escrow released.

What a seller owes the platform (a chargeback that could not be taken back from them) is taken
from their next release first, in the release's transaction: that part of the net goes to
`platform:fees` instead of `pending_transfer` (`SellerDebts`, kept by the disputes domain).

An escrow refunded in part keeps its remaining funding, fee and net (`Escrow.remaining`); a
release reads it as it is, and one that raced a refund (its compare-and-set names the refunds
it read) is made again on what the escrow keeps. An escrow frozen by a dispute is not released:
`EscrowDisputed` (409 `escrow_disputed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database, Document, NamespacedWrite
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import (
    EscrowDisputed,
    EscrowStatus,
    OrderNotPaid,
    ReleaseReason,
    TransferPart,
    TransferStatus,
    release_entry_key,
    transfer_id_for,
    transfer_parts,
)
from app.domain.ledger import Accounts, EntryKind, InsufficientFunds, JournalEntry, Move, entry
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.checkout import metrics
from app.services.checkout.repository import Escrow, OrderRepository
from app.services.checkout.transfer_repository import TransferRepository, as_transfer, transfer_document
from app.services.checkout.transfers import Clock, SellerTransfers, utc_now
from app.services.ledger import Ledger
from app.services.payment_operations import PaymentOperation

log = structlog.get_logger(__name__)

STATUS_CHANGED = "escrow.status_changed"


class SellerDebts(Protocol):
    """What a seller owes the platform: the one thing a release needs of the disputes domain."""

    async def recover_in(
        self,
        session: AsyncClientSession,
        seller_id: str,
        currency: str,
        at_most: int,
        escrow_id: str,
        actor: Actor,
    ) -> int:
        """Take up to `at_most` of what `seller_id` owes in `currency`, inside the release's
        transaction, for escrow `escrow_id`; how much was taken."""
        ...


class EscrowReleases:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        audit: AuditLog,
        transfers: SellerTransfers,
        debts: SellerDebts,
        auto_release_after: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._audit = audit
        self._transfers = transfers
        self._debts = debts
        self._auto_release_after = auto_release_after
        self._clock = clock
        self._orders = OrderRepository(database)
        self._transfer_records = TransferRepository(database)

    async def escrow(self, escrow_id: str) -> Escrow:
        found = await self._orders.escrow(escrow_id)
        if found is None:
            raise NotFound(f"no escrow {escrow_id}")
        return found

    async def release(
        self,
        escrow: Escrow,
        *,
        reason: ReleaseReason,
        actor: Actor,
        source: EscrowStatus = EscrowStatus.HELD,
    ) -> Escrow:
        """Release `escrow` from `source` and send what it owes its seller; the escrow as it is
        then. An escrow that left `source` meanwhile is not released: it is returned as found
        (released already, by another caller, or moved elsewhere: the caller tells which), except
        one frozen by a dispute, which raises `EscrowDisputed`."""
        destination = await self._transfers.destination(escrow.seller_id) if escrow.net else None
        while True:
            try:
                released = await self._try_release(escrow, source, reason, actor, destination)
            except InsufficientFunds:
                # The escrow's account runs short only when a refund committed after this release
                # read the escrow; anything else is a broken ledger and must not pass quietly.
                current = await self._orders.escrow(escrow.id)
                if current is None or (current.status is source and current.refunded == escrow.refunded):
                    raise
                released = None
            if released is not None:
                break
            current = await self._orders.escrow(escrow.id)
            if current is not None and current.status is source and current.refunded != escrow.refunded:
                escrow = current  # refunded from meanwhile: release what it keeps
                continue
            log.info("escrow_not_released", escrow_id=escrow.id, status=current.status if current else None)
            if current is not None and current.status is EscrowStatus.DISPUTED:
                raise EscrowDisputed(f"escrow {escrow.id} is frozen by a dispute", escrow_id=escrow.id)
            return current or escrow
        documents, recovered, recorded, now = released
        metrics.ESCROW_RELEASED.labels(escrow.currency, str(reason)).inc(escrow.remaining.total)
        log.info(
            "escrow_released",
            escrow_id=escrow.id,
            seller_id=escrow.seller_id,
            net=escrow.net,
            debt_recovered=recovered,
            reason=reason,
        )
        transfers = [as_transfer(document) for document in documents]
        sent = [
            await self._transfers.send(transfer, actor, recorded=recorded[transfer.id])
            if transfer.status is TransferStatus.PENDING
            else transfer
            for transfer in transfers
        ]
        made = [transfer.stripe_transfer_id for transfer in sent if transfer.stripe_transfer_id]
        return replace(
            escrow,
            status=EscrowStatus.TRANSFERRED if len(made) == len(sent) else EscrowStatus.RELEASED,
            released_at=now,
            release_reason=reason,
            transfer_ids=tuple(document["_id"] for document in documents),
            stripe_transfer_ids=tuple(made),
        )

    async def _try_release(
        self,
        escrow: Escrow,
        source: EscrowStatus,
        reason: ReleaseReason,
        actor: Actor,
        destination: str | None,
    ) -> tuple[list[Document], int, dict[str, PaymentOperation], datetime] | None:
        """One release transaction; None if the escrow is not as read (see `_release_in`)."""
        now = self._clock()
        try:
            documents, recovered, recorded = await self._db.transaction(
                lambda session: self._release_in(session, escrow, source, reason, actor, destination, now)
            )
        except DuplicateKeyError:
            return None
        return documents, recovered, recorded, now

    async def _release_in(
        self,
        session: AsyncClientSession,
        escrow: Escrow,
        source: EscrowStatus,
        reason: ReleaseReason,
        actor: Actor,
        destination: str | None,
        now: datetime,
    ) -> tuple[list[Document], int, dict[str, PaymentOperation]]:
        """What the seller owes taken first, the escrow `source` → released (or transferred when
        nothing is left to send) and its transfers written, with the payment operations of those
        ready to send (by transfer id), sent with the release entry's last command; an escrow not
        as read aborts it all (`OrderRepository.release_write`)."""
        recovered = (
            await self._debts.recover_in(
                session, escrow.seller_id, escrow.currency, escrow.net, escrow.id, actor
            )
            if escrow.net
            else 0
        )
        parts = transfer_parts(escrow.net - recovered, escrow.remaining)
        transfer_ids = [transfer_id_for(escrow.id, part) for part, _ in parts]
        transfers = [
            transfer_document(
                transfer_id,
                escrow.id,
                escrow.order_id,
                escrow.seller_id,
                part,
                amount,
                escrow.currency,
                escrow.charge_id if part is TransferPart.CARD else None,
                destination,
                transfer_ids,
                now,
            )
            for transfer_id, (part, amount) in zip(transfer_ids, parts, strict=True)
        ]
        target = EscrowStatus.RELEASED if parts else EscrowStatus.TRANSFERRED
        after: dict[str, str | int] = {"status": str(target), "reason": str(reason)}
        if recovered:
            after["debt_recovered"] = recovered
        writes: list[NamespacedWrite] = [
            self._orders.release_write(escrow.id, escrow.refunded, source, target, reason, transfer_ids, now),
            self._audit.prepare(
                session,
                actor,
                STATUS_CHANGED,
                AuditObject("escrow", escrow.id),
                before={"status": str(source)},
                after=after,
            ),
        ]
        recorded: dict[str, PaymentOperation] = {}
        for document in transfers:
            transfer = as_transfer(document)
            writes.append(self._transfer_records.insert_write(document))
            if transfer.status is TransferStatus.PENDING:
                operation_write, recorded[transfer.id] = self._transfers.record_send_in(transfer)
                writes.append(operation_write)
            writes.append(
                self._audit.prepare(
                    session,
                    actor,
                    "seller_transfer.created",
                    AuditObject("seller_transfer", transfer.id),
                    before=None,
                    after={
                        "status": str(transfer.status),
                        "amount": transfer.amount,
                        "part": str(transfer.part),
                    },
                )
            )
        await self._ledger.post_in(session, release_entry(escrow, recovered), along=writes)
        return transfers, recovered, recorded

    # Delivery confirmation and auto-release

    async def confirm_delivery(
        self, order_id: str, buyer_id: str, seller_id: str | None, actor: Actor
    ) -> list[Escrow]:
        """The buyer has what they bought (from `seller_id`, or from every seller of the order):
        release those escrows. Confirming again changes nothing; the escrows as they are then."""
        escrows = [
            escrow
            for escrow in await self._orders.escrows_of(order_id, seller_id=seller_id)
            if escrow.buyer_id == buyer_id
        ]
        if not escrows:
            raise NotFound(f"no order {order_id}" + (f" with seller {seller_id}" if seller_id else ""))
        if any(escrow.status in (EscrowStatus.AWAITING_FUNDS, EscrowStatus.CANCELED) for escrow in escrows):
            raise OrderNotPaid(f"order {order_id} is not paid; there is no delivery to confirm")
        if disputed := [escrow.seller_id for escrow in escrows if escrow.status is EscrowStatus.DISPUTED]:
            raise EscrowDisputed(
                f"a dispute is open on the part of seller(s) {', '.join(disputed)}; nothing was released"
            )
        return [
            await self.release(escrow, reason=ReleaseReason.DELIVERY_CONFIRMED, actor=actor)
            if escrow.status is EscrowStatus.HELD
            else escrow
            for escrow in escrows
        ]

    async def release_due(
        self, actor: Actor, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """Release every escrow held for longer than the auto-release delay; how each ended.

        `keep_going` is asked before each escrow (a lease renewal): False stops the pass.
        """
        outcomes: Counter[str] = Counter()
        async for escrow in self._orders.held_before(self._clock() - self._auto_release_after):
            if keep_going is not None and not await keep_going():
                break
            try:
                released = await self.release(escrow, reason=ReleaseReason.AUTO_RELEASE, actor=actor)
            except EscrowDisputed:
                outcomes[str(EscrowStatus.DISPUTED)] += 1
                continue
            outcomes[str(released.status)] += 1
        log.info("escrows_auto_released", **outcomes)
        return outcomes


def release_entry(escrow: Escrow, recovered: int) -> JournalEntry:
    """What the escrow keeps to the platform's fee, what the seller owes the platform (taken
    first from their net) to the platform too, and the rest to the seller's pending transfer."""
    account = Accounts.escrow(escrow.order_id, escrow.seller_id)
    shares = (
        (Accounts.PLATFORM_FEES, escrow.fee),
        (Accounts.PLATFORM_FEES, recovered),
        (Accounts.seller_pending_transfer(escrow.seller_id), escrow.net - recovered),
    )
    moves = [Move(account, to, amount, escrow.currency) for to, amount in shares if amount]
    refs = {"debt_recovered": str(recovered)} if recovered else {}
    return entry(
        release_entry_key(escrow.id),
        EntryKind.ESCROW_RELEASE,
        moves,
        escrow=escrow.id,
        order=escrow.order_id,
        seller=escrow.seller_id,
        **refs,
    )
