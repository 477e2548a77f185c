"""Wallet top-ups by card: a platform PaymentIntent for Stripe Elements, credited by webhook."""

from __future__ import annotations

from dataclasses import replace

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.payment_provider import PaymentIntent
from app.config import Settings
from app.db import Database
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.payment_operations import OperationStatus
from app.domain.wallet import TopupStatus, topup_entry_key, topup_id_for
from app.errors import InvalidRequest, NotFound
from app.services.ledger import Ledger
from app.services.payment_operations import CreateTopupIntent, PaymentOperation, PaymentOperations
from app.services.wallet.repository import Topup, TopupPage, TopupRepository

log = structlog.get_logger(__name__)


class TopupAmountOutOfRange(InvalidRequest):
    code = "topup_amount_out_of_range"


class UnsupportedCurrency(InvalidRequest):
    code = "unsupported_currency"


class Topups:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        operations: PaymentOperations,
        settings: Settings,
    ) -> None:
        self._db = database
        self._topups = TopupRepository(database)
        self._ledger = ledger
        self._operations = operations
        self._settings = settings

    async def request(self, user_id: str, amount: Money, idempotency_key: str) -> Topup:
        """Open a top-up and its PaymentIntent; the same key always yields the same pair.

        The answer alone carries the intent's client secret, for Stripe Elements.
        """
        self._check_amount(amount)
        # No migration here: a top-up only adds platform money and never touches the legacy
        # balance, which the first spend migrates before it uses it.
        topup_id = topup_id_for(user_id, idempotency_key)
        await self._topups.open(topup_id, user_id, amount)
        intent = await self._operations.run(
            CreateTopupIntent(
                topup_id=topup_id, user_id=user_id, amount=amount.amount, currency=amount.currency
            ),
            refs={"topup_id": topup_id, "user_id": user_id},
        )
        if await self._topups.attach_payment_intent(topup_id, intent.id):
            topup = Topup(
                topup_id, user_id, amount.amount, amount.currency, TopupStatus.REQUIRES_PAYMENT, intent.id
            )
        else:  # a retry after the top-up moved on (paid, or sent to review by the janitor)
            topup = await self.get(topup_id)
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

    async def get(self, topup_id: str) -> Topup:
        topup = await self._topups.get(topup_id)
        if topup is None:
            raise NotFound(f"no top-up {topup_id}")
        return topup

    async def pending_amount(self, user_id: str, currency: str) -> int:
        return await self._topups.pending_amount(user_id, currency)

    async def credit(self, intent: PaymentIntent) -> None:
        """Credit the wallet for a succeeded PaymentIntent, once, if it matches its top-up.

        One transaction: the top-up moves to `succeeded` by an update whose match also checks
        the buyer, amount and currency it was opened for, and the credit is posted. When nothing
        matches, the top-up is read to tell why: paid with another amount or currency (it goes
        to review), already credited or canceled, or unknown.
        """
        topup_id, user_id = intent.metadata.get("topup_id"), intent.metadata.get("user_id")
        paid = Money(intent.amount_received or intent.amount, intent.currency)
        if topup_id and user_id:
            credited = await self._db.transaction(
                lambda session: self._credit_in(session, topup_id, user_id, intent.id, paid)
            )
            if credited:
                log.info("topup_credited", topup_id=topup_id, payment_intent=intent.id, amount=paid.amount)
                return
        await self._not_credited(intent, paid)

    async def _credit_in(
        self, session: AsyncClientSession, topup_id: str, user_id: str, intent_id: str, paid: Money
    ) -> bool:
        if not await self._topups.mark_paid(topup_id, user_id, paid, intent_id, session):
            return False
        move = Move(Accounts.CARD, Accounts.buyer_wallet(user_id), paid.amount, paid.currency)
        credit = entry(
            topup_entry_key(intent_id), EntryKind.TOPUP, [move], topup=topup_id, payment_intent=intent_id
        )
        await self._ledger.post_in(session, credit)
        return True

    async def _not_credited(self, intent: PaymentIntent, paid: Money) -> None:
        topup_id = intent.metadata.get("topup_id")
        topup = await self._topups.get(topup_id) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=intent.id, topup_id=topup_id)
        elif topup.status in (TopupStatus.REQUIRES_PAYMENT, TopupStatus.FAILED):
            reason = f"paid {paid.amount} {paid.currency}, expected {topup.amount} {topup.currency}"
            if intent.metadata.get("user_id") != topup.user_id:
                reason += f"; the payment names buyer {intent.metadata.get('user_id')!r}"
            await self._to_review(topup.id, intent.id, reason)
        else:  # credited already, canceled, or in review
            log.info(
                "topup_not_credited", topup_id=topup.id, payment_intent=intent.id, status=str(topup.status)
            )

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
            await self._topups.attach_payment_intent(topup_id, operation.result["id"])
            log.info("topup_intent_learnt", topup_id=topup_id, payment_intent=operation.result["id"])
        elif operation.status is OperationStatus.NEEDS_REVIEW:
            error = (operation.error or {}).get("code", "unknown")
            await self._to_review(topup_id, None, f"its PaymentIntent call needs review: {error}")

    async def _to_review(self, topup_id: str, payment_intent_id: str | None, reason: str) -> None:
        if await self._topups.move(
            topup_id, TopupStatus.NEEDS_REVIEW, payment_intent_id, review_reason=reason
        ):
            log.error(
                "topup_needs_review", topup_id=topup_id, payment_intent=payment_intent_id, reason=reason
            )

    async def settle_unpaid(self, intent: PaymentIntent, status: TopupStatus) -> None:
        """Mark a top-up failed or canceled; a top-up already credited stays credited."""
        topup = await self._topup_of(intent)
        if topup is not None and await self._topups.move(topup.id, status, intent.id):
            log.info("topup_settled_unpaid", topup_id=topup.id, payment_intent=intent.id, status=status)

    async def _topup_of(self, intent: PaymentIntent) -> Topup | None:
        topup_id = intent.metadata.get("topup_id")
        topup = await self._topups.get(topup_id) if topup_id else None
        if topup is None:
            log.warning("topup_unknown", payment_intent=intent.id, topup_id=topup_id)
        return topup
