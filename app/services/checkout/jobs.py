"""Checkout's periodic work, each pass under its job's lease so one runner does it at a time:
expiring unpaid orders, auto-releasing escrows held too long, and retrying transfers to sellers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from app.db import Database
from app.domain.audit import Actor
from app.services.checkout.checkout import Checkout
from app.services.checkout.release import EscrowReleases
from app.services.checkout.transfers import SellerTransfers
from app.services.jobs import Lease, runner_id

log = structlog.get_logger(__name__)

ORDER_EXPIRY_JOB = "expire_orders"
AUTO_RELEASE_JOB = "release_due_escrows"
TRANSFER_RETRY_JOB = "transfer_pending"
LEASE_TTL = timedelta(minutes=10)

Pass = Callable[[Callable[[], Awaitable[bool]]], Awaitable[Counter[str]]]


async def run_order_expiry(
    database: Database, checkout: Checkout, older_than: timedelta, owner: str | None = None
) -> Counter[str] | None:
    """Cancel orders unpaid for `older_than`; None when another runner holds the lease."""
    actor = Actor.job(ORDER_EXPIRY_JOB)
    return await _under_lease(
        database, ORDER_EXPIRY_JOB, owner, lambda renew: checkout.expire_unpaid(older_than, actor, renew)
    )


async def run_escrow_auto_release(
    database: Database, releases: EscrowReleases, owner: str | None = None
) -> Counter[str] | None:
    """Release escrows held past the auto-release delay; None when another runner holds the lease."""
    actor = Actor.job(AUTO_RELEASE_JOB)
    return await _under_lease(
        database, AUTO_RELEASE_JOB, owner, lambda renew: releases.release_due(actor, renew)
    )


async def run_transfer_retries(
    database: Database, transfers: SellerTransfers, stuck_after: timedelta, owner: str | None = None
) -> Counter[str] | None:
    """Retry the transfers to sellers not made yet; None when another runner holds the lease."""
    actor = Actor.job(TRANSFER_RETRY_JOB)
    return await _under_lease(
        database, TRANSFER_RETRY_JOB, owner, lambda renew: transfers.retry_waiting(actor, stuck_after, renew)
    )


async def _under_lease(database: Database, job: str, owner: str | None, work: Pass) -> Counter[str] | None:
    lease = Lease(database, job, owner or runner_id(), LEASE_TTL)
    if not await lease.acquire():
        log.info("job_skipped", job=job, reason="lease_held_elsewhere")
        return None
    try:
        return await work(lease.acquire)
    finally:
        await lease.release()
