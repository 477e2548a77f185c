"""A seller's balances: what our ledger holds for them, and their connected balance at Stripe.

The Stripe figures (available, pending, the next date pending funds become available) are read
through the adapter and reused for `SELLER_BALANCE_CACHE_SECONDS` within a process. A read that
takes longer than `SELLER_BALANCE_STRIPE_TIMEOUT_SECONDS` or fails answers the last known figure
with its time (this process's, else the last one any process stored in `seller_balances`), so a
slow Stripe never makes the page fail. A payout request reads afresh (`fresh_available`), since
money is decided on it, and keeps nothing of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_errors import PaymentProviderError
from app.domain.ledger import Accounts
from app.services.ledger import Ledger
from app.services.payouts.ports import DisputeExposure, EscrowHoldings, SellerDisputes, exposure
from app.services.payouts.repository import BalanceReading, PayoutRepository

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# Pending funds become available within days; a window this wide finds the next of them.
PENDING_LOOKBACK = timedelta(days=35)
# The balance transactions read to find the next available date, at most (newest first).
PENDING_SCAN_LIMIT = 500
# Transactions are dated by Stripe's clock, which may run ahead of ours.
FUTURE_SLACK = timedelta(days=365)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StripeFigures:
    """The connected balance at Stripe, or what was last known of it."""

    available: int | None
    pending: int | None
    next_available_on: datetime | None
    as_of: datetime | None  # when Stripe said so; None when nothing is known
    stale: bool  # Stripe did not answer in time: an older figure, or none


@dataclass(frozen=True, slots=True)
class SellerBalance:
    seller_id: str
    currency: str
    in_escrow: int
    pending_transfer: int
    in_transit: int
    stripe: StripeFigures
    disputes: DisputeExposure
    now: datetime

    @property
    def available(self) -> int | None:
        return self.stripe.available

    @property
    def pending(self) -> int | None:
        return self.stripe.pending

    @property
    def next_available_on(self) -> datetime | None:
        return self.stripe.next_available_on

    @property
    def stripe_balance_as_of(self) -> datetime | None:
        return self.stripe.as_of

    @property
    def stripe_balance_age_seconds(self) -> int | None:
        return (
            None if self.stripe.as_of is None else max(0, int((self.now - self.stripe.as_of).total_seconds()))
        )

    @property
    def stripe_balance_stale(self) -> bool:
        return self.stripe.stale

    @property
    def held_for_disputes(self) -> int:
        return self.disputes.held

    @property
    def owed_to_platform(self) -> int:
        return self.disputes.owed_to_platform

    @property
    def open_disputes(self) -> int:
        return self.disputes.open_disputes


class StripeBalances:
    """Connected accounts' balances at Stripe, cached briefly, never failing a page."""

    def __init__(
        self,
        provider: PaymentProvider,
        repository: PayoutRepository,
        cache_for: timedelta,
        timeout: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._provider = provider
        self._repository = repository
        self._cache_for = cache_for
        self._timeout = timeout.total_seconds()
        self._clock = clock
        self._cache: dict[tuple[str, str], BalanceReading] = {}

    async def figures(self, account_id: str, currency: str) -> StripeFigures:
        cached = self._cache.get((account_id, currency))
        if cached is not None and self._clock() - cached.read_at < self._cache_for:
            return _figures(cached, stale=False)
        try:
            reading = await asyncio.wait_for(self._read(account_id, currency), self._timeout)
        except (TimeoutError, PaymentProviderError) as error:
            log.warning(
                "seller_balance_stripe_unanswered", stripe_account=account_id, error=type(error).__name__
            )
            last = cached or await self._repository.last_balance(account_id, currency)
            return (
                StripeFigures(None, None, None, None, stale=True)
                if last is None
                else _figures(last, stale=True)
            )
        return _figures(reading, stale=False)

    async def fresh_available(self, account_id: str, currency: str) -> int:
        """The available balance as Stripe has it now (no cache: a payout is decided on it). Not
        kept either: the payout decided on it changes it at once."""
        return (await self._provider.retrieve_balance(account_id)).available_in(currency)

    def forget(self, account_id: str, currency: str) -> None:
        """The cached figure is wrong now (a payout left): the next page reads Stripe again."""
        self._cache.pop((account_id, currency), None)

    async def _read(self, account_id: str, currency: str) -> BalanceReading:
        balance = await self._provider.retrieve_balance(account_id)
        pending = sum(money.amount for money in balance.pending if money.currency == currency)
        reading = BalanceReading(
            available=balance.available_in(currency),
            pending=pending,
            next_available_on=await self._next_available_on(account_id, currency) if pending > 0 else None,
            read_at=self._clock(),
        )
        self._cache[(account_id, currency)] = reading
        await self._repository.remember_balance(account_id, currency, reading)
        return reading

    async def _next_available_on(self, account_id: str, currency: str) -> datetime | None:
        now = self._clock()
        earliest: int | None = None
        transactions = self._provider.iter_balance_transactions(
            now - PENDING_LOOKBACK, now + FUTURE_SLACK, account_id
        )
        scanned = 0
        async for transaction in transactions:
            scanned += 1
            if (
                transaction.status == "pending"
                and transaction.currency == currency
                and transaction.amount > 0
            ):
                earliest = (
                    transaction.available_on if earliest is None else min(earliest, transaction.available_on)
                )
            if scanned >= PENDING_SCAN_LIMIT:
                break
        return None if earliest is None else datetime.fromtimestamp(earliest, UTC)


def _figures(reading: BalanceReading, *, stale: bool) -> StripeFigures:
    return StripeFigures(
        reading.available, reading.pending, reading.next_available_on, reading.read_at, stale
    )


class SellerBalances:
    """Everything a seller's balance page shows, from the ledger, Stripe, payouts and disputes."""

    def __init__(
        self,
        ledger: Ledger,
        escrow: EscrowHoldings,
        disputes: SellerDisputes,
        stripe: StripeBalances,
        repository: PayoutRepository,
        clock: Clock = utc_now,
    ) -> None:
        self._ledger = ledger
        self._escrow = escrow
        self._disputes = disputes
        self._stripe = stripe
        self._repository = repository
        self._clock = clock

    async def of(self, seller_id: str, account_id: str | None, currency: str) -> SellerBalance:
        pending_transfer = await self._ledger.balance(Accounts.seller_pending_transfer(seller_id), currency)
        if account_id is None:
            stripe = StripeFigures(0, 0, None, None, stale=False)
        else:
            stripe = await self._stripe.figures(account_id, currency)
        return SellerBalance(
            seller_id=seller_id,
            currency=currency,
            in_escrow=await self._escrow.seller_in_escrow(seller_id, currency),
            pending_transfer=pending_transfer,
            in_transit=await self._repository.on_the_way(seller_id, currency),
            stripe=stripe,
            disputes=await exposure(self._disputes, seller_id, currency),
            now=self._clock(),
        )
