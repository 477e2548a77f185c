"""Paying sellers what a released escrow owes them, by Stripe transfers to their connected accounts.

The release (`release.py`) has already moved the seller's net into
`seller:{id}:pending_transfer` and written the transfers to make (`transfer_repository`). Each is
sent through a payment operation; when Stripe accepts it, one transaction moves its amount to
`seller:{id}:connected` (entry `transfer:{transfer_id}`, once whatever happens), marks the
transfer made and, with the escrow's last transfer, the escrow `transferred`. When Stripe refuses:

- the platform's available balance is short (`balance_insufficient`): `awaiting_funds`, tried
  again by the transfer-pending job;
- the seller cannot receive (`insufficient_capabilities_for_transfer`, or no account that can):
  `awaiting_destination`, sent when the seller can (`seller_can_receive`, the onboarding signal)
  or by the job, which looks again at every seller with transfers waiting, so a missed signal
  only delays;
- anything else: `failed`, for an operator (`GET /admin/transfers?status=failed`).

An answer lost on the way (timeout) leaves the transfer `pending`: sent again with the same key,
Stripe replays what it did. Every change of a transfer's status is audited in its transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import PaymentProvider, Transfer
from app.adapters.stripe_errors import PaymentProviderError
from app.db import Database, NamespacedWrite
from app.domain.audit import Actor, AuditObject
from app.domain.checkout import WAITING, TransferStatus, transfer_entry_key
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.audit import AuditLog
from app.services.checkout import metrics
from app.services.checkout.repository import OrderRepository
from app.services.checkout.transfer_repository import SellerTransfer, TransferPage, TransferRepository
from app.services.ledger import Ledger
from app.services.payment_operations import (
    CreateTransfer,
    PaymentOperation,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
STATUS_CHANGED = "seller_transfer.status_changed"
# Stripe's codes for a refusal that lifts by itself: funds arrive, the seller completes onboarding.
SHORT_OF_FUNDS = frozenset({"balance_insufficient"})
CANNOT_RECEIVE = frozenset({"insufficient_capabilities_for_transfer", "account_invalid"})


class TransferDestinations(Protocol):
    """Where a seller can be paid: the one thing checkout needs of seller onboarding."""

    async def transfer_destination(self, seller_id: str) -> str | None:
        """The connected account seller `seller_id` may receive transfers on now, if any."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class SellerTransfers:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        operations: PaymentOperations,
        provider: PaymentProvider,
        audit: AuditLog,
        destinations: TransferDestinations,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._operations = operations
        self._provider = provider
        self._audit = audit
        self._destinations = destinations
        self._clock = clock
        self._transfers = TransferRepository(database)
        self._escrows = OrderRepository(database)

    async def destination(self, seller_id: str) -> str | None:
        return await self._destinations.transfer_destination(seller_id)

    async def get(self, transfer_id: str) -> SellerTransfer | None:
        return await self._transfers.get(transfer_id)

    async def many(self, transfer_ids: Sequence[str]) -> dict[str, SellerTransfer]:
        """The transfers of `transfer_ids` that exist, by id (at most a page of them: one read)."""
        return await self._transfers.many(transfer_ids)

    async def count(self, status: TransferStatus) -> int:
        """How many transfers are in `status` (`failed`: the ones waiting for an operator)."""
        return await self._transfers.count(status)

    async def page(
        self, status: TransferStatus | None, limit: int, starting_after: str | None
    ) -> TransferPage:
        return await self._transfers.page(status, limit, starting_after)

    # Sending

    def record_send_in(self, transfer: SellerTransfer) -> tuple[NamespacedWrite, PaymentOperation]:
        """The payment operation that will send a pending transfer, recorded by the transaction
        that writes the transfer (`PaymentOperations.record_in`); `send(..., recorded=)` it once
        that commits."""
        request, refs = _transfer_request(transfer)
        return self._operations.record_in(request, refs)

    async def send(
        self, transfer: SellerTransfer, actor: Actor, *, recorded: PaymentOperation | None = None
    ) -> SellerTransfer:
        """Send a pending transfer's current attempt and record what Stripe answered;
        `recorded`, its operation as `record_send_in` wrote it."""
        if transfer.status is not TransferStatus.PENDING or transfer.destination is None:
            raise ValueError(f"transfer {transfer.id} is {transfer.status}, not ready to send")
        request, refs = _transfer_request(transfer)
        try:
            made = await self._operations.run(request, refs=refs, recorded=recorded)
        except PaymentProviderError as error:
            if error.outcome_unknown:
                log.warning("seller_transfer_outcome_unknown", transfer_id=transfer.id, code=error.code)
                return transfer
            target = _after_refusal(error.stripe_code)
            return await self._refused(transfer, target, error.stripe_code or error.code, error.detail, actor)
        except (PaymentOperationConflict, PaymentOperationNeedsReview) as error:
            return await self._refused(transfer, TransferStatus.FAILED, error.code, error.detail, actor)
        return await self._made(transfer, made, actor)

    async def _made(self, transfer: SellerTransfer, made: Transfer, actor: Actor) -> SellerTransfer:
        try:
            await self._db.transaction(lambda session: self._made_in(session, transfer, made, actor))
        except DuplicateKeyError:
            # Recorded already (the same attempt driven twice at once); that record stands.
            current = await self._transfers.get(transfer.id)
            log.info("seller_transfer_recorded_before", transfer_id=transfer.id)
            return current or transfer
        log.info(
            "seller_transfer_made",
            transfer_id=transfer.id,
            stripe_transfer=made.id,
            seller_id=transfer.seller_id,
            amount=transfer.amount,
        )
        return replace(transfer, status=TransferStatus.TRANSFERRED, stripe_transfer_id=made.id)

    async def _made_in(
        self, session: AsyncClientSession, transfer: SellerTransfer, made: Transfer, actor: Actor
    ) -> None:
        """The ledger move, the transfer made and, with its escrow's last transfer, the escrow
        `transferred`, in one transaction; the entry's key makes it once."""
        now = self._clock()
        writes: list[NamespacedWrite] = [
            self._transfers.transferred_write(transfer, made.id, now),
            self._prepared_status_audit(
                session, actor, transfer, TransferStatus.TRANSFERRED, stripe_transfer_id=made.id
            ),
        ]
        writes.extend(await self._escrow_writes(session, transfer, made.id, actor, now))
        seller = transfer.seller_id
        move = Move(
            Accounts.seller_pending_transfer(seller),
            Accounts.seller_connected(seller),
            transfer.amount,
            transfer.currency,
        )
        posted = entry(
            transfer_entry_key(transfer.id),
            EntryKind.TRANSFER,
            [move],
            transfer=transfer.id,
            stripe_transfer=made.id,
            escrow=transfer.escrow_id,
            order=transfer.order_id,
            seller=seller,
        )
        await self._ledger.post_in(session, posted, along=writes)

    async def _escrow_writes(
        self,
        session: AsyncClientSession,
        transfer: SellerTransfer,
        stripe_transfer_id: str,
        actor: Actor,
        now: datetime,
    ) -> list[NamespacedWrite]:
        """The escrow moves from `released` to `transferred` with its last transfer made (its
        other transfers are read only when it has any); an earlier one only notes the id."""
        others = [transfer_id for transfer_id in transfer.escrow_transfer_ids if transfer_id != transfer.id]
        statuses = await self._transfers.statuses(others, session) if others else {}
        if any(status is not TransferStatus.TRANSFERRED for status in statuses.values()):
            return [self._escrows.stripe_transfer_write(transfer.escrow_id, stripe_transfer_id, now)]
        audited = self._audit.prepare(
            session,
            actor,
            "escrow.status_changed",
            AuditObject("escrow", transfer.escrow_id),
            before={"status": "released"},
            after={"status": "transferred"},
        )
        return [self._escrows.transferred_write(transfer.escrow_id, [stripe_transfer_id], now), audited]

    async def _refused(
        self, transfer: SellerTransfer, target: TransferStatus, code: str, message: str, actor: Actor
    ) -> SellerTransfer:
        moved = await self._move(transfer, target, actor, code=code, message=message)
        level = log.error if target is TransferStatus.FAILED else log.info
        level("seller_transfer_refused", transfer_id=transfer.id, status=str(target), code=code)
        return moved

    # Waiting transfers

    async def seller_receiving_changed(self, seller_id: str, can_receive: bool) -> None:
        """Onboarding's signal: the seller became able (or unable) to receive transfers. Able:
        what waited for them is sent now. Unable: nothing to undo; a transfer sent meanwhile is
        refused by Stripe and waits (`awaiting_destination`), and new releases park their net."""
        if can_receive:
            outcomes = await self.seller_can_receive(seller_id, Actor.system("seller_transfer_signal"))
            log.info("seller_transfers_resumed", seller_id=seller_id, **outcomes)

    async def seller_can_receive(self, seller_id: str, actor: Actor) -> Counter[str]:
        """Send the seller's transfers that waited for them to be able to receive, if they can now;
        how each ended. Safe to call any number of times, from any process: a transfer is claimed
        by one caller only, and made once."""
        outcomes: Counter[str] = Counter()
        destination = await self.destination(seller_id)
        if destination is None:
            return outcomes
        for transfer in await self._transfers.of_seller(seller_id, TransferStatus.AWAITING_DESTINATION):
            outcomes[await self._claim_and_send(transfer, destination, actor)] += 1
        return outcomes

    async def retry_waiting(
        self, actor: Actor, stuck_after: timedelta, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """One pass over every transfer not made: those short of platform funds are tried again,
        those waiting for their seller are sent if the seller can receive now (a signal missed),
        and those whose answer was lost `stuck_after` ago are sent again (same key); how each ended.

        `keep_going` is asked before each transfer (a lease renewal): False stops the pass.
        """
        started = self._clock()
        outcomes: Counter[str] = Counter()
        destinations: dict[str, str | None] = {}

        async def destination_of(seller_id: str) -> str | None:
            if seller_id not in destinations:
                destinations[seller_id] = await self.destination(seller_id)
            return destinations[seller_id]

        async for transfer in self._transfers.with_status(TransferStatus.AWAITING_FUNDS, started):
            if keep_going is not None and not await keep_going():
                return outcomes
            destination = await destination_of(transfer.seller_id)
            if destination is None:
                moved = await self._move(transfer, TransferStatus.AWAITING_DESTINATION, actor)
                outcomes[str(moved.status)] += 1
            else:
                outcomes[await self._claim_and_send(transfer, destination, actor)] += 1
        for seller_id in await self._transfers.sellers_awaiting_destination():
            if keep_going is not None and not await keep_going():
                return outcomes
            if await destination_of(seller_id) is not None:
                outcomes.update(await self.seller_can_receive(seller_id, actor))
        async for transfer in self._transfers.with_status(TransferStatus.PENDING, started - stuck_after):
            if keep_going is not None and not await keep_going():
                return outcomes
            outcomes[str((await self.send(transfer, actor)).status)] += 1
        metrics.record_waiting(await self._transfers.waiting_totals())
        log.info("seller_transfers_retried", **outcomes)
        return outcomes

    async def _claim_and_send(self, transfer: SellerTransfer, destination: str, actor: Actor) -> str:
        claimed = await self._claim(transfer, destination, actor)
        if claimed is None:
            return "claimed_elsewhere"
        return str((await self.send(claimed, actor)).status)

    async def _claim(self, transfer: SellerTransfer, destination: str, actor: Actor) -> SellerTransfer | None:
        """A waiting transfer → pending, as a new attempt to `destination`; None if another
        caller moved it first."""
        if transfer.status not in WAITING:
            raise ValueError(f"transfer {transfer.id} is {transfer.status}, not waiting")
        claimed = replace(
            transfer, status=TransferStatus.PENDING, attempt=transfer.attempt + 1, destination=destination
        )

        async def claim_in(session: AsyncClientSession) -> bool:
            if not await self._transfers.claim(session, transfer, destination, self._clock()):
                return False
            await self._status_audit(
                session, actor, transfer, TransferStatus.PENDING, attempt=claimed.attempt
            )
            return True

        if not await self._db.transaction(claim_in):
            return None
        return claimed

    async def _move(
        self,
        transfer: SellerTransfer,
        target: TransferStatus,
        actor: Actor,
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> SellerTransfer:
        """The transfer → `target` (a waiting status, or failed) from where it is; if another
        caller moved it first, as that left it."""

        async def move_in(session: AsyncClientSession) -> bool:
            if not await self._transfers.wait(session, transfer, target, code, message, self._clock()):
                return False
            details = {"failure_code": code} if code else {}
            await self._status_audit(session, actor, transfer, target, **details)
            return True

        if not await self._db.transaction(move_in):
            return await self._transfers.get(transfer.id) or transfer
        return replace(transfer, status=target, failure_code=code, failure_message=message)

    async def _status_audit(
        self,
        session: AsyncClientSession,
        actor: Actor,
        transfer: SellerTransfer,
        target: TransferStatus,
        **details: str | int,
    ) -> None:
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("seller_transfer", transfer.id),
            before={"status": str(transfer.status), "attempt": transfer.attempt},
            after={"status": str(target), **details},
        )

    def _prepared_status_audit(
        self,
        session: AsyncClientSession,
        actor: Actor,
        transfer: SellerTransfer,
        target: TransferStatus,
        **details: str | int,
    ) -> NamespacedWrite:
        return self._audit.prepare(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("seller_transfer", transfer.id),
            before={"status": str(transfer.status), "attempt": transfer.attempt},
            after={"status": str(target), **details},
        )

    # Stripe's view

    async def refresh_from_stripe(self, reported: Transfer, actor: Actor) -> None:
        """A transfer event says when to look: read the transfer from Stripe now. One of ours whose
        answer was lost (still `pending` on the attempt Stripe made) is finished by sending that
        attempt again, which Stripe replays; a made one mirrors what Stripe has reversed of it."""
        transfer = await self._transfers.get(reported.metadata.get("transfer_id", ""))
        if transfer is None:
            log.info("stripe_transfer_not_ours", stripe_transfer=reported.id)
            return
        ticket = await self._transfers.reserve_read(transfer.id)
        current = await self._provider.retrieve_transfer(reported.id)
        if (
            transfer.status is TransferStatus.PENDING
            and current.metadata.get("attempt_id") == transfer.operation_id
        ):
            transfer = await self.send(transfer, actor)
        if transfer.stripe_transfer_id == current.id:
            await self._transfers.store_stripe_view(transfer.id, ticket, current.amount_reversed)


def _transfer_request(transfer: SellerTransfer) -> tuple[CreateTransfer, dict[str, str]]:
    """The Stripe call that makes `transfer`'s current attempt, and what its record refers to."""
    if transfer.destination is None:
        raise ValueError(f"transfer {transfer.id} has no destination to send to")
    request = CreateTransfer(
        escrow_id=transfer.escrow_id,
        order_id=transfer.order_id,
        destination=transfer.destination,
        amount=transfer.amount,
        currency=transfer.currency,
        source_transaction=transfer.source_transaction,
        metadata={
            "transfer_id": transfer.id,
            "seller_id": transfer.seller_id,
            "part": str(transfer.part),
        },
        attempt_id=transfer.operation_id,
    )
    return request, {"transfer_id": transfer.id, "seller_id": transfer.seller_id}


def _after_refusal(stripe_code: str | None) -> TransferStatus:
    if stripe_code in SHORT_OF_FUNDS:
        return TransferStatus.AWAITING_FUNDS
    if stripe_code in CANNOT_RECEIVE:
        return TransferStatus.AWAITING_DESTINATION
    return TransferStatus.FAILED
