"""Payouts from a seller's connected Stripe balance to their bank.

A request is decided and made under the seller's lock (a lease in `leases`, one holder across
every process), so requests for one seller run one after another: each reads the available
balance from Stripe afresh, after the previous payout has left it, and ten requests at once for
the whole balance make one payout. The lock lapses after `PAYOUT_LOCK_SECONDS` if its holder
dies; Stripe's own check (a payout beyond the available balance is refused) stands behind it.
The seller's gate cannot serve as that lock: it orders the commits of requests, not their reads
of Stripe's balance, which come before.

No payout is requested while a dispute or chargeback on the seller's money is open. The check
is made inside the transaction that records the payout, which passes the seller's gate
(`app.services.disputes`), as every opening does, so MongoDB orders the two: a dispute opening
meanwhile is either seen (the request is refused) or opens after the payout was requested. The
moment that counts is that commit: a payout requested before a dispute opened is legitimate, and
is sent to Stripe even when the dispute opens before the call, as one Stripe had already would be
paid (the dispute then holds the seller's next payouts).

The payout is recorded `requested` (audited) with its payment operation (the Stripe call and its
key, from our payout id) in one transaction, then Stripe is called, then Stripe's answer is
stored as a read of the payout in one transaction that also completes the operation, audits the
change and releases the lock. A request whose id was recorded before (its answer lost) continues
that payout, whatever the checks now say. From then on Stripe's events drive it
(`refresh_from_stripe`): each reads the payout again, stores it by read ticket and, in the same
transaction, posts what the ledger owes the new state (`app.domain.payouts.ledger_entries`) and
audits the change. Payouts made at Stripe directly are recorded from their first event the same
way.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import PaymentProvider, Payout
from app.adapters.stripe_errors import PaymentProviderError
from app.db import Database, Document, NamespacedWrite
from app.domain.audit import Actor, AuditObject
from app.domain.ledger import JournalEntry
from app.domain.payouts import (
    LedgerState,
    PayoutBelowMinimum,
    PayoutInsufficientFunds,
    PayoutsBlockedByDispute,
    PayoutsDisabled,
    PayoutStatus,
    SellerNotOnboarded,
    UnsupportedPayoutCurrency,
    failure_reason,
    ledger_entries,
    outside_payout_id,
    payable,
    payout_amount,
)
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.jobs import Lease
from app.services.ledger import Ledger
from app.services.onboarding import StripeAccounts
from app.services.payment_operations import CreatePayout, PaymentOperation, PaymentOperations
from app.services.payouts import metrics
from app.services.payouts.balances import SellerBalance, SellerBalances, StripeBalances
from app.services.payouts.ports import EscrowHoldings, SellerDisputes
from app.services.payouts.repository import (
    PayoutPage,
    PayoutRecord,
    PayoutRepository,
    StripeView,
    as_payout,
    outside_document,
    requested_document,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
STATUS_CHANGED = "payout.status_changed"
REQUESTED = "payout.requested"
# A payout made at Stripe directly (the dashboard, an automatic schedule), recorded from its event.
RECORDED_FROM_STRIPE = "payout.recorded_from_stripe"
# The answer to the call that created the payout is a read made before any ticket was taken.
CREATION_TICKET = 0
LOCK_POLL_SECONDS = 0.05
# Stripe's refusals that mean the same as one of ours.
STRIPE_SHORT_OF_FUNDS = "balance_insufficient"
STRIPE_PAYOUTS_NOT_ALLOWED = "payouts_not_allowed"
# What a request can refuse once the lock is held: after one, the request may be a retry of a
# payout recorded already, which goes on.
REFUSALS = (
    SellerNotOnboarded,
    PayoutsDisabled,
    PayoutsBlockedByDispute,
    PayoutInsufficientFunds,
    PayoutBelowMinimum,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Payouts:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        operations: PaymentOperations,
        provider: PaymentProvider,
        audit: AuditLog,
        accounts: StripeAccounts,
        disputes: SellerDisputes,
        escrow: EscrowHoldings,
        *,
        currency: str,
        minimum: int,
        lock_for: timedelta,
        balance_cache_for: timedelta,
        stripe_balance_timeout: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._operations = operations
        self._provider = provider
        self._audit = audit
        self._accounts = accounts
        self._disputes = disputes
        self._currency = currency
        self._minimum = minimum
        self._lock_for = lock_for
        self._clock = clock
        self._payouts = PayoutRepository(database)
        self._stripe = StripeBalances(
            provider, self._payouts, balance_cache_for, stripe_balance_timeout, clock
        )
        self._balances = SellerBalances(ledger, escrow, disputes, self._stripe, self._payouts, clock)

    # Reading

    async def balance(self, seller_id: str) -> SellerBalance:
        account = await self._accounts.of_seller(seller_id)
        return await self._balances.of(seller_id, account.id if account else None, self._currency)

    async def get(self, payout_id: str, *, seller_id: str | None = None) -> PayoutRecord:
        """The payout; `seller_id` limits it to that seller's (another's is not found, as unknown)."""
        payout = await self._payouts.get(payout_id)
        if payout is None or (seller_id is not None and payout.seller_id != seller_id):
            raise NotFound(f"no payout {payout_id}")
        return payout

    async def page(self, seller_id: str, limit: int, starting_after: str | None) -> PayoutPage:
        return await self._payouts.page(seller_id, limit, starting_after)

    async def by_stripe_ids(self, stripe_payout_ids: Sequence[str]) -> dict[str, PayoutRecord]:
        """Our records of these Stripe payouts, by Stripe id (at most a page of them: one read)."""
        return await self._payouts.by_stripe_ids(stripe_payout_ids)

    def created_between(self, seller_id: str, start: datetime, end: datetime) -> AsyncIterator[PayoutRecord]:
        """A seller's payouts recorded in the window, streamed."""
        return self._payouts.created_between(seller_id, start, end)

    # Requesting

    async def request(
        self, payout_id: str, seller_id: str, amount: int | None, currency: str, actor: Actor
    ) -> PayoutRecord:
        """Pay `amount` (everything payable when None) of the seller's balance to their bank, or
        refuse; `payout_id` names the request, so asking again continues the same payout."""
        if currency != self._currency:
            raise UnsupportedPayoutCurrency(f"payouts are made in {self._currency}, not {currency}")
        async with self._seller_lock(seller_id) as lock:
            try:
                payout, operation = await self._record(payout_id, seller_id, amount, currency, actor)
            except (DuplicateKeyError, PaymentProviderError, *REFUSALS):
                # Looked for only now, so a new request costs no read: one recorded under this id
                # before (a refusal, a duplicate, or Stripe's balance unreadable here) is
                # continued, whatever the checks say now.
                existing = await self._payouts.get(payout_id)
                if existing is None:
                    raise
            else:
                return await self._send_recorded(payout, operation, actor, lock)
        if existing.seller_id != seller_id:
            raise NotFound(f"no payout {payout_id}")
        return await self._send(existing, actor) if existing.status is PayoutStatus.REQUESTED else existing

    async def _record(
        self, payout_id: str, seller_id: str, asked: int | None, currency: str, actor: Actor
    ) -> tuple[PayoutRecord, PaymentOperation]:
        """Check the seller may pay out, decide the amount and record the payout `requested`, with
        the Stripe call that makes it (sent even if this request stops: the janitor finds it)."""
        account = await self._accounts.of_seller(seller_id)
        if account is None or account.snapshot is None:
            raise SellerNotOnboarded(f"seller {seller_id} has no Stripe account yet")
        if not account.snapshot.payouts_enabled:
            raise PayoutsDisabled(f"Stripe does not allow payouts from {account.id} now")
        available = await self._stripe.fresh_available(account.id, currency)
        now = self._clock()

        async def record_in(session: AsyncClientSession) -> tuple[Document, PaymentOperation]:
            # Checked where it counts: a dispute opening meanwhile either shows here or opens
            # after this commits (the seller's gate, which both pass, orders them).
            standing = await self._disputes.gated_standing_in(session, seller_id, currency)
            _refuse_if_disputed(
                seller_id, standing.hold.open_disputes, standing.hold.amounts.get(currency, 0)
            )
            amount = payout_amount(asked, payable(available, standing.owed), self._minimum, currency)
            document = requested_document(payout_id, seller_id, account.id, amount, currency, actor.id, now)
            call, operation = self._operations.record_in(_call(as_payout(document)), {"seller_id": seller_id})
            audit = self._audit.prepare(
                session,
                actor,
                REQUESTED,
                AuditObject("payout", payout_id),
                before=None,
                after={
                    "status": str(PayoutStatus.REQUESTED),
                    "amount": amount,
                    "currency": currency,
                    "gate": standing.gate,
                },
            )
            # Not first in the transaction: SecantusDB refuses a `bulkWrite` that starts one.
            writes = [standing.pass_gate, self._payouts.insert_write(document), call, audit]
            await self._db.write_together(writes, session=session)
            return document, operation

        document, operation = await self._db.transaction(record_in)
        payout = as_payout(document)
        metrics.counted(PayoutStatus.REQUESTED, payout.amount, currency)
        log.info("payout_requested", payout_id=payout_id, seller_id=seller_id, amount=payout.amount)
        return payout, operation

    async def _send_recorded(
        self, payout: PayoutRecord, operation: PaymentOperation, actor: Actor, lock: SellerLock
    ) -> PayoutRecord:
        """Make the payout just recorded, and store Stripe's answer with the operation's
        completion and the lock's release."""
        made = await self._made(payout, actor, self._operations.send_recorded(_call(payout), operation))
        view = _view(made)
        entries, ledger = ledger_entries(
            payout.seller_id, made.id, payout.amount, payout.currency, view.status, payout.ledger
        )

        async def store_in(session: AsyncClientSession) -> bool:
            # Only this request's payout is `requested` without a read stored: what it was is known.
            stored = await self._payouts.store_read(
                session, payout.id, CREATION_TICKET, made.id, view, ledger
            )
            along = [self._operations.succeeded_write(operation.id, made), lock.release_write()]
            if stored and payout.status is not view.status:
                along.append(self._status_audit_write(session, actor, payout, view))
            await self._write_with_entries(session, entries if stored else [], along)
            return stored

        stored = await self._db.transaction(store_in)
        lock.released = True
        if not stored:  # a Stripe event's read was stored first
            return await self.get(payout.id)
        after = _after(payout, made, view, ledger, self._clock())
        _counted(payout, after, made)
        return after

    async def _send(self, payout: PayoutRecord, actor: Actor) -> PayoutRecord:
        """Make a payout recorded by an earlier request (again, under the same key)."""
        call = self._operations.run(_call(payout), refs={"seller_id": payout.seller_id})
        made = await self._made(payout, actor, call)
        return await self._store(payout.id, made, CREATION_TICKET, actor) or await self.get(payout.id)

    async def _made(self, payout: PayoutRecord, actor: Actor, call: Awaitable[Payout]) -> Payout:
        """Stripe's payout from `call`, or its refusal recorded and raised as ours."""
        try:
            return await call
        except PaymentProviderError as error:
            if not error.outcome_unknown:
                await self._refused(payout, error, actor)
            raise _ours(error, payout) from error
        finally:
            self._stripe.forget(payout.account_id, payout.currency)

    async def _refused(self, payout: PayoutRecord, error: PaymentProviderError, actor: Actor) -> None:
        code = error.stripe_code or error.code
        message = failure_reason(code, None) or error.detail

        async def refuse_in(session: AsyncClientSession) -> None:
            if await self._payouts.refuse(session, payout.id, code, message, self._clock()):
                await self._status_audit(session, actor, payout, PayoutStatus.FAILED, failure_code=code)

        await self._db.transaction(refuse_in)
        metrics.counted(PayoutStatus.FAILED, payout.amount, payout.currency)
        log.warning("payout_refused_by_stripe", payout_id=payout.id, code=code)

    @asynccontextmanager
    async def _seller_lock(self, seller_id: str) -> AsyncIterator[SellerLock]:
        lease = Lease(self._db, f"payout_request:{seller_id}", uuid.uuid4().hex, self._lock_for)
        while not await lease.acquire():  # noqa: ASYNC110 - the holder is in another process
            await asyncio.sleep(LOCK_POLL_SECONDS * (1 + random.random()))  # noqa: S311 - jitter only
        lock = SellerLock(lease)
        try:
            yield lock
        finally:
            if not lock.released:
                await lease.release()

    # Stripe's view

    async def refresh_from_stripe(self, account_id: str, reported: Payout, actor: Actor) -> None:
        """A payout event says when to look: find (or record) the payout, read it from Stripe now
        and store that, with what the ledger owes it."""
        payout = await self._payouts.by_stripe_id(reported.id)
        if payout is None:
            payout = await self._adopt(account_id, reported, actor)
        ticket = await self._payouts.reserve_read(payout.id)
        current = await self._provider.retrieve_payout(account_id, reported.id)
        await self._store(payout.id, current, ticket, actor)

    async def _adopt(self, account_id: str, reported: Payout, actor: Actor) -> PayoutRecord:
        """Ours, whose answer has not been stored yet (its metadata names it), or one made at
        Stripe directly, recorded now."""
        ours = reported.metadata.get("payout_id")
        if ours and (payout := await self._payouts.get(ours)) is not None:
            await self._payouts.attach_stripe_id(payout.id, reported.id)
            return payout
        account = await self._accounts.get(account_id)
        if account is None or account.seller_id is None:
            raise LookupError(f"payout {reported.id} of {account_id}, an account of no known seller yet")
        payout_id = outside_payout_id(reported.id)
        document = outside_document(payout_id, account.seller_id, account_id, reported, self._clock())

        async def record_in(session: AsyncClientSession) -> None:
            if not await self._payouts.insert(session, document):
                return  # recorded by an earlier event of the same payout
            await self._audit.record(
                session,
                actor,
                RECORDED_FROM_STRIPE,
                AuditObject("payout", payout_id),
                before=None,
                after={
                    "status": str(PayoutStatus.REQUESTED),
                    "amount": reported.amount,
                    "currency": reported.currency,
                    "stripe_payout_id": reported.id,
                },
            )

        await self._db.transaction(record_in)
        log.info("payout_made_at_stripe_recorded", payout_id=payout_id, stripe_payout=reported.id)
        recorded = await self._payouts.by_stripe_id(reported.id)
        assert recorded is not None  # inserted just now, or by an earlier event
        return recorded

    async def _store(self, payout_id: str, seen: Payout, ticket: int, actor: Actor) -> PayoutRecord | None:
        """Store what a read of the payout found, with its ledger entries and audit; the payout as
        stored, or None when a later read was stored already."""
        view = _view(seen)

        async def store_in(session: AsyncClientSession) -> tuple[PayoutRecord, PayoutRecord] | None:
            before = await self._payouts.get(payout_id, session)
            assert before is not None
            entries, ledger = ledger_entries(
                before.seller_id, seen.id, before.amount, before.currency, view.status, before.ledger
            )
            if not await self._payouts.store_read(session, payout_id, ticket, seen.id, view, ledger):
                return None
            along = []
            if before.status is not view.status:
                along.append(self._status_audit_write(session, actor, before, view))
            await self._write_with_entries(session, entries, along)
            return before, _after(before, seen, view, ledger, self._clock())

        stored = await self._db.transaction(store_in)
        if stored is None:
            return None
        before, after = stored
        _counted(before, after, seen)
        return after

    async def _write_with_entries(
        self, session: AsyncClientSession, entries: Sequence[JournalEntry], along: list[NamespacedWrite]
    ) -> None:
        """Post `entries` in the session's transaction, `along` riding on the last one's command
        (or sent alone when there is no entry, if any)."""
        for posted in entries[:-1]:
            await self._ledger.post_in(session, posted)
        if entries:
            await self._ledger.post_in(session, entries[-1], along=along)
        elif along:
            await self._db.write_together(along, session=session)

    def _status_audit_write(
        self, session: AsyncClientSession, actor: Actor, payout: PayoutRecord, view: StripeView
    ) -> NamespacedWrite:
        details = {"failure_code": view.failure_code} if view.failure_code else {}
        return self._audit.prepare(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("payout", payout.id),
            before={"status": str(payout.status)},
            after={"status": str(view.status), **details},
        )

    async def _status_audit(
        self,
        session: AsyncClientSession,
        actor: Actor,
        payout: PayoutRecord,
        target: PayoutStatus,
        **details: str,
    ) -> None:
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("payout", payout.id),
            before={"status": str(payout.status)},
            after={"status": str(target), **details},
        )


@dataclass(slots=True)
class SellerLock:
    """The seller's lock, released with the payout's last write or, failing that, on leaving."""

    lease: Lease
    released: bool = False

    def release_write(self) -> NamespacedWrite:
        return self.lease.release_write()


def _call(payout: PayoutRecord) -> CreatePayout:
    return CreatePayout(
        payout_id=payout.id, account=payout.account_id, amount=payout.amount, currency=payout.currency
    )


def _view(seen: Payout) -> StripeView:
    return StripeView(
        status=PayoutStatus(seen.status),
        arrival_date=datetime.fromtimestamp(seen.arrival_date, UTC),
        failure_code=seen.failure_code,
        failure_message=failure_reason(seen.failure_code, seen.failure_message),
    )


def _after(
    before: PayoutRecord, seen: Payout, view: StripeView, ledger: LedgerState, now: datetime
) -> PayoutRecord:
    return replace(
        before,
        stripe_payout_id=seen.id,
        status=view.status,
        arrival_date=view.arrival_date,
        failure_code=view.failure_code,
        failure_message=view.failure_message,
        ledger=ledger,
        updated_at=now,
    )


def _counted(before: PayoutRecord, after: PayoutRecord, seen: Payout) -> None:
    if before.status is after.status:
        return
    metrics.counted(after.status, after.amount, after.currency)
    log.info(
        "payout_status_changed",
        payout_id=after.id,
        stripe_payout=seen.id,
        seller_id=after.seller_id,
        status=str(after.status),
    )


def _refuse_if_disputed(seller_id: str, open_disputes: int, held: int) -> None:
    if open_disputes:
        raise PayoutsBlockedByDispute(
            f"seller {seller_id} has {open_disputes} open dispute(s)",
            open_disputes=open_disputes,
            disputed_amount=held,
        )


def _ours(error: PaymentProviderError, payout: PayoutRecord) -> Exception:
    """Stripe's refusal as the refusal of ours that says the same, else as it is."""
    if error.stripe_code == STRIPE_SHORT_OF_FUNDS:
        return PayoutInsufficientFunds(
            f"Stripe holds less than {payout.amount} {payout.currency} available now",
            payable=0,
            currency=payout.currency,
        )
    if error.stripe_code == STRIPE_PAYOUTS_NOT_ALLOWED:
        return PayoutsDisabled("Stripe does not allow payouts from this account now")
    return error
