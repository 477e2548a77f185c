"""Each seller's connected account as Stripe has it, and the seller's standing derived from it.

Every change of a seller's standing goes through here: the account first recorded after its
creation, each read of it from Stripe (a Connect webhook, or a refresh asked for), and its
deauthorization. Each is one transaction that reads the stored account, stores the new state by
compare-and-set, and audits a change of status or of `can_receive_transfers`
(`seller_account.status_changed`, with before and after); once it has committed, a change of
`can_receive_transfers` is published to the listeners (`app.services.onboarding.signals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.payment_provider import Account, AccountRequirements, PaymentProvider, WebhookEvent
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.onboarding import AccountSnapshot, Requirements, SellerStatus, Verification, assess
from app.errors import ServiceError
from app.services.audit import AuditLog
from app.services.onboarding.repository import (
    AccountRead,
    Derived,
    SellerAlreadyLinked,
    SellerFilter,
    SellerPage,
    StripeAccount,
    StripeAccountRepository,
)
from app.services.onboarding.signals import TransferSignal, TransferSignalListener, TransferSignals

log = structlog.get_logger(__name__)

STATUS_CHANGED = "seller_account.status_changed"
# The answer to the call that created the account is a read made before any ticket was taken.
CREATION_TICKET = 0


class SellerAccountConflict(ServiceError):
    code = "seller_account_conflict"
    status = 409
    title = "The seller is already linked to another Stripe account"


@dataclass(frozen=True, slots=True)
class Standing:
    """What is audited of a seller's standing: their status, whether they can receive transfers,
    and why (Stripe's `disabled_reason`, or `deauthorized`)."""

    status: SellerStatus
    can_receive_transfers: bool
    reason: str | None = None

    @classmethod
    def of(cls, account: StripeAccount | None) -> Standing:
        if account is None or account.status is None:
            return cls(SellerStatus.NOT_STARTED, False)
        return cls(account.status, account.can_receive_transfers, account.status_reason)

    @classmethod
    def from_verification(cls, verification: Verification) -> Standing:
        return cls(verification.status, verification.can_receive_transfers, verification.status_reason)

    def differs_from(self, other: Standing) -> bool:
        return (self.status, self.can_receive_transfers) != (other.status, other.can_receive_transfers)

    def audited(self) -> dict[str, object]:
        return {
            "status": str(self.status),
            "can_receive_transfers": self.can_receive_transfers,
            "status_reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class _Change:
    account_id: str
    seller_id: str | None
    before: Standing
    after: Standing


@dataclass(frozen=True, slots=True)
class _Stored:
    """Whether a read was stored, and the change of standing it made, if any."""

    stored: bool
    change: _Change | None = None


def account_snapshot(account: Account) -> AccountSnapshot:
    """The parts of a Stripe account a seller's standing is derived from."""
    return AccountSnapshot(
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        capabilities=dict(account.capabilities),
        disabled_reason=account.requirements.disabled_reason,
        requirements=_requirements(account.requirements),
        future_requirements=_requirements(account.future_requirements),
    )


def _requirements(requirements: AccountRequirements) -> Requirements:
    deadline = requirements.current_deadline
    return Requirements(
        currently_due=requirements.currently_due,
        eventually_due=requirements.eventually_due,
        past_due=requirements.past_due,
        pending_verification=requirements.pending_verification,
        current_deadline=datetime.fromtimestamp(deadline, UTC) if deadline is not None else None,
    )


class StripeAccounts:
    def __init__(self, database: Database, provider: PaymentProvider, audit: AuditLog) -> None:
        self._db = database
        self._accounts = StripeAccountRepository(database)
        self._provider = provider
        self._audit = audit
        self._signals = TransferSignals()

    def on_transfers_changed(self, listener: TransferSignalListener) -> None:
        """Call `listener` after each committed change of a seller's ability to receive transfers."""
        self._signals.listen(listener)

    async def get(self, account_id: str) -> StripeAccount | None:
        return await self._accounts.get(account_id)

    async def of_seller(self, seller_id: str) -> StripeAccount | None:
        return await self._accounts.of_seller(seller_id)

    async def transfer_destination(self, seller_id: str) -> str | None:
        """The seller's account, if money can be transferred to it now."""
        return await self._accounts.transfer_destination(seller_id)

    async def sellers_with_accounts(self, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(seller id, account id) of every seller with a connected account, by seller id: what
        reconciliation walks to compare each seller's payouts."""
        return await self._accounts.sellers_with_accounts(after, limit)

    async def sellers_receiving_transfers(self, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(seller id, account id) of every seller who can receive transfers, by seller id: what
        a job walks to catch up on signals a listener missed."""
        return await self._accounts.sellers_receiving_transfers(after, limit)

    async def page(self, where: SellerFilter, limit: int, starting_after: str | None) -> SellerPage:
        return await self._accounts.page(where, limit, starting_after)

    async def record_new_account(self, seller_id: str, account: Account, actor: Actor) -> StripeAccount:
        """Record the account just created for `seller_id`, as its creation answered, unless a
        read of it is stored already; the seller moves from `not_started`. Raises
        SellerAccountConflict when another account holds the seller."""
        await self._store(account.id, _read_of(account, seller_id=seller_id), CREATION_TICKET, actor)
        recorded = await self._accounts.get(account.id)
        assert recorded is not None  # stored now, or by the read that came first
        return recorded

    async def refresh(self, account_id: str, actor: Actor, event: WebhookEvent | None = None) -> bool:
        """Read the account from Stripe now and store that state, unless a read that started
        later is stored already; whether it was stored. An event only says when to read.

        An account's state decides whether a seller may be paid, so it is never taken from an
        event: events of the same second cannot be ordered (`app.services.webhooks.ordering`).
        """
        ticket = await self._accounts.reserve_read(account_id)
        read = _read_of(await self._provider.retrieve_account(account_id), event=event)
        stored = await self._store(account_id, read, ticket, actor)
        log.info("stripe_account_refreshed", stripe_account=account_id, stored=stored, read_ticket=ticket)
        return stored

    async def record_deauthorization(self, account_id: str, at: datetime, actor: Actor) -> None:
        """The platform lost access to the account: the seller is `rejected` and cannot receive
        transfers, whatever Stripe says of the account later. Repeats change nothing."""
        change = await self._db.transaction(
            lambda session: self._deauthorize_in(session, account_id, at, actor)
        )
        await self._publish(change)
        log.warning("stripe_account_deauthorized", stripe_account=account_id)

    async def _store(self, account_id: str, read: AccountRead, ticket: int, actor: Actor) -> bool:
        try:
            outcome = await self._db.transaction(
                lambda session: self._store_in(session, account_id, read, ticket, actor)
            )
        except SellerAlreadyLinked as exc:
            raise SellerAccountConflict(
                f"Stripe account {account_id} names seller {read.seller_id}, "
                "but that seller is already linked to another Stripe account"
            ) from exc
        await self._publish(outcome.change)
        return outcome.stored

    async def _store_in(
        self, session: AsyncClientSession, account_id: str, read: AccountRead, ticket: int, actor: Actor
    ) -> _Stored:
        """Store the read unless a later one is stored; the standing is derived with what the
        stored account remembers (requirements seen before, a deauthorization)."""
        current = await self._accounts.get(account_id, session)
        if current is not None and current.read_ticket is not None and current.read_ticket >= ticket:
            return _Stored(stored=False)
        seen = (current.requirements_seen if current else frozenset()) | read.snapshot.requirements.names
        deauthorized = current is not None and current.deauthorized
        derived = Derived(
            verification=assess(read.snapshot, deauthorized=deauthorized, requirements_seen=seen),
            requirements_seen=seen,
        )
        new = current is None
        if not await self._accounts.store_read(session, account_id, read, derived, ticket, new=new):
            return _Stored(stored=False)
        seller_id = read.seller_id or (current.seller_id if current else None)
        change = await self._audit_change(
            session, actor, account_id, seller_id, Standing.of(current), derived.verification
        )
        return _Stored(stored=True, change=change)

    async def _deauthorize_in(
        self, session: AsyncClientSession, account_id: str, at: datetime, actor: Actor
    ) -> _Change | None:
        current = await self._accounts.get(account_id, session)
        verification = assess(
            (current.snapshot if current else None) or AccountSnapshot(),
            deauthorized=True,
            requirements_seen=current.requirements_seen if current else (),
        )
        await self._accounts.deauthorize(session, account_id, at, verification)
        seller_id = current.seller_id if current else None
        before = Standing.of(current)
        return await self._audit_change(session, actor, account_id, seller_id, before, verification)

    async def _audit_change(
        self,
        session: AsyncClientSession,
        actor: Actor,
        account_id: str,
        seller_id: str | None,
        before: Standing,
        verification: Verification,
    ) -> _Change | None:
        """Audit a change of the seller's status or ability to receive transfers; the change, or
        None when there was none."""
        after = Standing.from_verification(verification)
        if not after.differs_from(before):
            return None
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("seller_account", account_id),
            before=before.audited(),
            after={**after.audited(), "seller_id": seller_id},
        )
        return _Change(account_id, seller_id, before, after)

    async def _publish(self, change: _Change | None) -> None:
        if change is None:
            return
        log.info(
            "seller_status_changed",
            stripe_account=change.account_id,
            seller_id=change.seller_id,
            before=str(change.before.status),
            after=str(change.after.status),
        )
        if change.seller_id and change.before.can_receive_transfers != change.after.can_receive_transfers:
            await self._signals.publish(
                TransferSignal(change.seller_id, change.account_id, change.after.can_receive_transfers)
            )


def _read_of(
    account: Account, *, seller_id: str | None = None, event: WebhookEvent | None = None
) -> AccountRead:
    return AccountRead(
        snapshot=account_snapshot(account),
        seller_id=seller_id or account.metadata.get("seller_id") or None,
        created_at=datetime.fromtimestamp(account.created, UTC) if account.created is not None else None,
        event_id=event.id if event else None,
        event_created=event.created if event else None,
    )
