"""Top-ups nobody paid: after `TOPUP_EXPIRE_AFTER_HOURS` their PaymentIntent is canceled and they
become `canceled`, so a buyer's pending amount and open top-up limit count only live ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from app.adapters.stripe_errors import PaymentProviderError
from app.db import Database
from app.domain.audit import Actor
from app.domain.wallet import TopupStatus
from app.services.jobs import Lease, runner_id
from app.services.payment_operations import (
    CancelPaymentIntent,
    CreateTopupIntent,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
)
from app.services.wallet.repository import Topup, TopupRepository
from app.services.wallet.topups import Topups

log = structlog.get_logger(__name__)

TOPUP_EXPIRY_JOB = "expire_topups"
TOPUP_EXPIRY_LEASE_TTL = timedelta(minutes=10)
# The expiry's changes are audited as this job's.
EXPIRY_ACTOR = Actor.job(TOPUP_EXPIRY_JOB)


class TopupExpiry:
    def __init__(self, database: Database, topups: Topups, operations: PaymentOperations) -> None:
        self._unpaid = TopupRepository(database)
        self._topups = topups
        self._operations = operations

    async def expire_unpaid(
        self, older_than: timedelta, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """Cancel every top-up awaiting payment for longer than `older_than`; count the outcomes.

        `keep_going` is asked before each top-up (a lease renewal): False stops the pass.
        """
        outcomes: Counter[str] = Counter()
        async for topup in self._unpaid.unpaid_opened_before(datetime.now(UTC) - older_than):
            if keep_going is not None and not await keep_going():
                break
            outcomes[await self._expire(topup)] += 1
        log.info("topups_expired", **outcomes)
        return outcomes

    async def _expire(self, topup: Topup) -> str:
        """Cancel the top-up's PaymentIntent through a payment operation, then the top-up.

        A top-up whose intent was never attached (its request failed and was not retried) gets
        it through its own recorded operation first, so no intent of ours is left payable.
        """
        refs = {"topup_id": topup.id, "user_id": topup.user_id}
        try:
            intent_id = topup.payment_intent_id or (await self._operations.run(_intent_of(topup), refs)).id
            canceled = await self._operations.run(CancelPaymentIntent(payment_intent_id=intent_id), refs)
        except (PaymentProviderError, PaymentOperationConflict, PaymentOperationNeedsReview) as exc:
            # Most likely paid at the last minute: the webhook credits it. Else the next pass retries.
            log.warning("topup_expiry_failed", topup_id=topup.id, code=exc.code, detail=exc.detail)
            return "failed"
        if not await self._topups.settle_unpaid(canceled, TopupStatus.CANCELED, EXPIRY_ACTOR):
            return "settled_meanwhile"
        log.info("topup_expired", topup_id=topup.id, payment_intent=canceled.id, amount=topup.amount)
        return "canceled"


def _intent_of(topup: Topup) -> CreateTopupIntent:
    return CreateTopupIntent(
        topup_id=topup.id, user_id=topup.user_id, amount=topup.amount, currency=topup.currency
    )


async def run_topup_expiry(
    database: Database, expiry: TopupExpiry, older_than: timedelta, owner: str | None = None
) -> Counter[str] | None:
    """One expiry pass under the job lease; None when another runner holds the lease."""
    lease = Lease(database, TOPUP_EXPIRY_JOB, owner or runner_id(), TOPUP_EXPIRY_LEASE_TTL)
    if not await lease.acquire():
        log.info("topup_expiry_skipped", reason="lease_held_elsewhere")
        return None
    try:
        return await expiry.expire_unpaid(older_than, keep_going=lease.acquire)
    finally:
        await lease.release()
