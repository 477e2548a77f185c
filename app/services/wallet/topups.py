"""Wallet top-ups by card: a platform PaymentIntent for Stripe Elements, credited by webhook."""

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
from app.domain.wallet import TopupStatus, topup_entry_key, topup_id_for
from app.errors import InvalidRequest, NotFound, ServiceError
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from app.services.payment_operations import CreateTopupIntent, PaymentOperations
from app.services.wallet.repository import Topup, TopupRepository

log = structlog.get_logger(__name__)


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
        migration: LegacyMigration,
        operations: PaymentOperations,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        self._db = database
        self._audit = audit
        self._topups = TopupRepository(database)
        self._ledger = ledger
        self._migration = migration
        self._operations = operations
        self._settings = settings

    async def request(self, user_id: str, amount: Money, idempotency_key: str) -> Topup:
        """Open a top-up and its PaymentIntent; the same key always yields the same pair.

        The answer alone carries the intent's client secret, for Stripe Elements.
        """
        self._check_amount(amount)
        await self._migration.migrate_user(user_id, Actor.user(user_id))
        topup_id = topup_id_for(user_id, idempotency_key)
        limit = self._settings.topup_max_open_per_buyer
        if not await self._topups.open(topup_id, user_id, amount, limit):
            raise TooManyOpenTopups(
                f"{limit} top-ups already await payment; pay one or let it expire", limit=limit
            )
        intent = await self._operations.run(
            CreateTopupIntent(
                topup_id=topup_id, user_id=user_id, amount=amount.amount, currency=amount.currency
            ),
            refs={"topup_id": topup_id, "user_id": user_id},
        )
        topup = await self._topups.attach_payment_intent(topup_id, intent.id) or Topup(
            topup_id, user_id, amount.amount, amount.currency, TopupStatus.REQUIRES_PAYMENT, intent.id
        )
        log.info("topup_requested", topup_id=topup_id, payment_intent=intent.id, amount=amount.amount)
        return replace(topup, client_secret=intent.client_secret)

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
        """Credit the wallet for a succeeded PaymentIntent, once, if it matches its top-up."""
        topup = await self._topup_of(intent)
        if topup is None:
            return
        paid = Money(intent.amount_received or intent.amount, intent.currency)
        if paid != topup.money:
            reason = f"paid {paid.amount} {paid.currency}, expected {topup.amount} {topup.currency}"
            await self._db.transaction(lambda session: self._flag_in(session, topup, reason, actor))
            log.error("topup_flagged_for_review", topup_id=topup.id, reason=reason)
            return
        await self._db.transaction(lambda session: self._credit_in(session, topup, intent.id, paid, actor))

    async def _flag_in(self, session: AsyncClientSession, topup: Topup, reason: str, actor: Actor) -> None:
        if await self._topups.flag(topup.id, reason, session):
            before, after = {"needs_review": False}, {"needs_review": True, "review_reason": reason}
            subject = AuditObject("topup", topup.id)
            await self._audit.record(
                session, actor, "topup.flagged_for_review", subject, before=before, after=after
            )

    async def _credit_in(
        self, session: AsyncClientSession, topup: Topup, intent_id: str, paid: Money, actor: Actor
    ) -> None:
        if not await self._move_in(session, topup, TopupStatus.SUCCEEDED, intent_id, actor):
            return
        credit = Move(Accounts.CARD, Accounts.buyer_wallet(topup.user_id), paid.amount, paid.currency)
        await self._ledger.post_in(
            session,
            entry(
                topup_entry_key(intent_id),
                EntryKind.TOPUP,
                [credit],
                topup=topup.id,
                payment_intent=intent_id,
            ),
        )
        log.info("topup_credited", topup_id=topup.id, payment_intent=intent_id, amount=paid.amount)

    async def settle_unpaid(self, intent: PaymentIntent, status: TopupStatus, actor: Actor) -> bool:
        """Mark a top-up failed or canceled; a top-up already credited stays credited. Whether
        it moved."""
        topup = await self._topup_of(intent)
        if topup is not None and await self._db.transaction(
            lambda session: self._move_in(session, topup, status, intent.id, actor)
        ):
            log.info("topup_settled_unpaid", topup_id=topup.id, payment_intent=intent.id, status=status)
            return True
        return False

    async def _move_in(
        self, session: AsyncClientSession, topup: Topup, target: TopupStatus, intent_id: str, actor: Actor
    ) -> bool:
        """Move the top-up's status and audit the move, in the caller's transaction; whether it moved."""
        previous = await self._topups.move(topup.id, target, intent_id, session)
        if previous is not None:
            before, after = {"status": str(previous)}, {"status": str(target), "payment_intent_id": intent_id}
            subject = AuditObject("topup", topup.id)
            await self._audit.record(
                session, actor, "topup.status_changed", subject, before=before, after=after
            )
        return previous is not None

    async def _topup_of(self, intent: PaymentIntent) -> Topup | None:
        topup_id = intent.metadata.get("topup_id")
        topup = await self._topups.get(topup_id) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=intent.id, topup_id=topup_id)
        return topup
