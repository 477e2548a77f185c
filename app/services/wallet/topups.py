"""Wallet top-ups by card: a platform PaymentIntent for Stripe Elements, credited by webhook.

A top-up is audited when it opens for payment, its PaymentIntent recorded (`topup.opened`), at
every change of its status (`topup.status_changed`), and when the janitor learns its PaymentIntent
after its request (`topup.payment_intent_learnt`), each in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.payment_provider import PaymentIntent
from app.config import Settings
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.payment_operations import OperationStatus
from app.domain.wallet import TopupStatus, topup_entry_key, topup_id_for
from app.errors import InvalidRequest, NotFound, ServiceError
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.payment_operations import (
    JANITOR_JOB,
    CreateTopupIntent,
    PaymentOperation,
    PaymentOperations,
)
from app.services.wallet import metrics
from app.services.wallet.repository import Opening, Topup, TopupPage, TopupRepository

log = structlog.get_logger(__name__)

STATUS_CHANGED = "topup.status_changed"
# What the janitor learns of a top-up's PaymentIntent call is audited as the janitor's.
JANITOR = Actor.job(JANITOR_JOB)


class TopupAmountOutOfRange(InvalidRequest):
    code = "topup_amount_out_of_range"
    title = "The amount is outside the top-up limits"
    members: ClassVar[Mapping[str, Any]] = {"minimum": int, "maximum": int}


class UnsupportedCurrency(InvalidRequest):
    code = "unsupported_currency"
    title = "Wallets do not hold this currency"


class TooManyOpenTopups(ServiceError):
    code = "too_many_open_topups"
    status = 429
    title = "Too many top-ups are awaiting payment"
    members: ClassVar[Mapping[str, Any]] = {"limit": int}


class Topups:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        operations: PaymentOperations,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        self._db = database
        self._audit = audit
        self._topups = TopupRepository(database)
        self._ledger = ledger
        self._operations = operations
        self._settings = settings

    async def request(self, user_id: str, amount: Money, idempotency_key: str) -> Topup:
        """Open a top-up and its PaymentIntent; the same key always yields the same pair.

        The answer alone carries the intent's client secret, for Stripe Elements. The call is
        recorded with the opening (one command) before it is made, and completed in the
        transaction that records its PaymentIntent on the top-up: until that commits it is
        pending, so the janitor makes it again (same key) and tells the top-up what it learnt.
        """
        self._check_amount(amount)
        # No migration here: a top-up only adds platform money and never touches the legacy
        # balance, which the first spend migrates before it uses it.
        topup_id = topup_id_for(user_id, idempotency_key)
        create_intent = CreateTopupIntent(
            topup_id=topup_id, user_id=user_id, amount=amount.amount, currency=amount.currency
        )
        refs = {"topup_id": topup_id, "user_id": user_id}
        recording, operation = self._operations.record_in(create_intent, refs)
        limit = self._settings.topup_max_open_per_buyer
        opening = await self._topups.open(topup_id, user_id, amount, limit, along=[recording])
        if opening is Opening.REFUSED:
            raise TooManyOpenTopups(
                f"{limit} top-ups already await payment; pay one or let it expire", limit=limit
            )
        if opening is Opening.OPENED:
            intent = await self._operations.send_recorded(create_intent, operation)
        else:  # an earlier request recorded the call: run it from where that request left it
            intent = await self._operations.run(create_intent, refs)
        if await self._db.transaction(
            lambda session: self._opened_in(session, topup_id, user_id, amount, intent, operation)
        ):
            topup = Topup(
                topup_id, user_id, amount.amount, amount.currency, TopupStatus.REQUIRES_PAYMENT, intent.id
            )
        else:  # a retry, or the top-up moved on (paid, or sent to review by the janitor)
            topup = await self.get(topup_id)
        log.info("topup_requested", topup_id=topup_id, payment_intent=intent.id, amount=amount.amount)
        return replace(topup, client_secret=intent.client_secret)

    async def _opened_in(
        self,
        session: AsyncClientSession,
        topup_id: str,
        user_id: str,
        amount: Money,
        intent: PaymentIntent,
        operation: PaymentOperation,
    ) -> bool:
        """The top-up opens for payment once its PaymentIntent is recorded: audited then, once,
        as the buyer's (a retry of the request records nothing). The call that made the intent
        is completed with it, the audit record in the same command."""
        if await self._topups.attach_payment_intent(session, topup_id, intent.id):
            opened = self._audit.prepare(
                session,
                Actor.user(user_id),
                "topup.opened",
                AuditObject("topup", topup_id),
                before=None,
                after={
                    "status": str(TopupStatus.REQUIRES_PAYMENT),
                    "amount": amount.amount,
                    "currency": amount.currency,
                    "payment_intent_id": intent.id,
                },
            )
            await self._operations.complete_in(session, operation, intent, along=[opened])
            return True
        await self._operations.complete_in(session, operation, intent)
        return False

    def _check_amount(self, amount: Money) -> None:
        if amount.currency != self._settings.platform_currency:
            raise UnsupportedCurrency(
                f"wallets hold {self._settings.platform_currency}, not {amount.currency}"
            )
        low, high = self._settings.topup_min_amount, self._settings.topup_max_amount
        if not low <= amount.amount <= high:
            raise TopupAmountOutOfRange(
                f"a top-up is between {low} and {high} minor units", minimum=low, maximum=high
            )

    async def get(self, topup_id: str, *, owner: str | None = None) -> Topup:
        """The top-up; with `owner`, only that buyer's: another's is not found, like an unknown one."""
        topup = await self._topups.get(topup_id, owner)
        if topup is None:
            raise NotFound(f"no top-up {topup_id}")
        return topup

    async def pending_amount(self, user_id: str, currency: str) -> int:
        return await self._topups.pending_amount(user_id, currency)

    async def credit(self, intent: PaymentIntent, actor: Actor) -> None:
        """Credit the wallet for a succeeded PaymentIntent, once, if it matches its top-up.

        One transaction: the top-up moves to `succeeded` by an update whose match also checks
        the buyer, amount and currency it was opened for, the credit is posted, and the move is
        audited (its record sent with the entry's postings). When nothing matches, the top-up is
        read to tell why: paid with another amount or currency (it goes to review), already
        credited or canceled, or unknown.
        """
        topup_id, user_id = intent.metadata.get("topup_id"), intent.metadata.get("user_id")
        paid = Money(intent.amount_received or intent.amount, intent.currency)
        if topup_id and user_id:
            credited = await self._db.transaction(
                lambda session: self._credit_in(session, topup_id, user_id, intent.id, paid, actor)
            )
            if credited:
                metrics.TOPUPS.labels(str(TopupStatus.SUCCEEDED)).inc()
                log.info("topup_credited", topup_id=topup_id, payment_intent=intent.id, amount=paid.amount)
                return
        await self._not_credited(intent, paid, actor)

    async def _credit_in(
        self,
        session: AsyncClientSession,
        topup_id: str,
        user_id: str,
        intent_id: str,
        paid: Money,
        actor: Actor,
    ) -> bool:
        previous = await self._topups.mark_paid(topup_id, user_id, paid, intent_id, session)
        if previous is None:
            return False
        move = Move(Accounts.CARD, Accounts.buyer_wallet(user_id), paid.amount, paid.currency)
        credit = entry(
            topup_entry_key(intent_id), EntryKind.TOPUP, [move], topup=topup_id, payment_intent=intent_id
        )
        audited = self._audit.prepare(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("topup", topup_id),
            before={"status": str(previous)},
            after={"status": str(TopupStatus.SUCCEEDED), "payment_intent_id": intent_id},
        )
        await self._ledger.post_in(session, credit, along=[audited])
        return True

    async def _not_credited(self, intent: PaymentIntent, paid: Money, actor: Actor) -> None:
        topup_id = intent.metadata.get("topup_id")
        topup = await self._topups.get(topup_id) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=intent.id, topup_id=topup_id)
        elif topup.status in (TopupStatus.REQUIRES_PAYMENT, TopupStatus.FAILED):
            reason = f"paid {paid.amount} {paid.currency}, expected {topup.amount} {topup.currency}"
            if intent.metadata.get("user_id") != topup.user_id:
                reason += f"; the payment names buyer {intent.metadata.get('user_id')!r}"
            await self._to_review(topup.id, intent.id, reason, actor)
        else:  # credited already, canceled, or in review
            log.info(
                "topup_not_credited", topup_id=topup.id, payment_intent=intent.id, status=str(topup.status)
            )

    async def count(self, status: TopupStatus) -> int:
        """How many top-ups are in `status` (`needs_review`: the ones waiting for an operator)."""
        return await self._topups.count(status)

    async def page(self, status: TopupStatus | None, limit: int, starting_after: str | None) -> TopupPage:
        """Top-ups for staff, newest first, of one status or all."""
        return await self._topups.page(status, limit, starting_after)

    async def learn_from_operation(self, operation: PaymentOperation) -> None:
        """What the janitor learnt of a top-up's PaymentIntent call: the intent it created, or
        that nothing can be found (the top-up then needs review)."""
        topup_id = operation.refs.get("topup_id")
        if topup_id is None:
            return
        if operation.status is OperationStatus.SUCCEEDED and operation.result is not None:
            intent_id: str = operation.result["id"]
            if await self._db.transaction(
                lambda session: self._learn_intent_in(session, topup_id, intent_id)
            ):
                log.info("topup_intent_learnt", topup_id=topup_id, payment_intent=intent_id)
        elif operation.status is OperationStatus.NEEDS_REVIEW:
            error = (operation.error or {}).get("code", "unknown")
            await self._to_review(topup_id, None, f"its PaymentIntent call needs review: {error}", JANITOR)

    async def _learn_intent_in(self, session: AsyncClientSession, topup_id: str, intent_id: str) -> bool:
        before = await self._topups.learn_payment_intent(topup_id, intent_id, session)
        if before is None:
            return False
        await self._audit.record(
            session,
            JANITOR,
            "topup.payment_intent_learnt",
            AuditObject("topup", topup_id),
            before={"payment_intent_id": before.get("payment_intent_id")},
            after={"payment_intent_id": intent_id},
        )
        return True

    async def _to_review(
        self, topup_id: str, payment_intent_id: str | None, reason: str, actor: Actor
    ) -> None:
        if await self._db.transaction(
            lambda session: self._move_in(
                session, topup_id, TopupStatus.NEEDS_REVIEW, payment_intent_id, actor, review_reason=reason
            )
        ):
            metrics.TOPUPS.labels(str(TopupStatus.NEEDS_REVIEW)).inc()
            log.error(
                "topup_needs_review", topup_id=topup_id, payment_intent=payment_intent_id, reason=reason
            )

    async def settle_unpaid(self, intent: PaymentIntent, status: TopupStatus, actor: Actor) -> bool:
        """Mark a top-up failed or canceled; a top-up already credited stays credited. Whether
        it moved."""
        topup = await self._topup_of(intent)
        if topup is not None and await self._db.transaction(
            lambda session: self._move_in(session, topup.id, status, intent.id, actor)
        ):
            metrics.TOPUPS.labels(str(status)).inc()
            log.info("topup_settled_unpaid", topup_id=topup.id, payment_intent=intent.id, status=status)
            return True
        return False

    async def _move_in(
        self,
        session: AsyncClientSession,
        topup_id: str,
        target: TopupStatus,
        intent_id: str | None,
        actor: Actor,
        *,
        review_reason: str | None = None,
    ) -> bool:
        """Move the top-up's status and audit the move, in the caller's transaction; whether it moved."""
        previous = await self._topups.move(topup_id, target, intent_id, session, review_reason=review_reason)
        if previous is None:
            return False
        after: dict[str, str] = {"status": str(target)}
        if intent_id is not None:
            after["payment_intent_id"] = intent_id
        if review_reason is not None:
            after["review_reason"] = review_reason
        await self._audit.record(
            session,
            actor,
            STATUS_CHANGED,
            AuditObject("topup", topup_id),
            before={"status": str(previous)},
            after=after,
        )
        return True

    async def _topup_of(self, intent: PaymentIntent) -> Topup | None:
        topup_id = intent.metadata.get("topup_id")
        topup = await self._topups.get(topup_id) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=intent.id, topup_id=topup_id)
        return topup
