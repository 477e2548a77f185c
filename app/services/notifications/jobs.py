"""Delivering admin notifications to the notification URL, one runner at a time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import structlog

from app.db import Database
from app.services.jobs import Lease, runner_id
from app.services.notifications.service import Notifications

log = structlog.get_logger(__name__)

DELIVERY_JOB = "deliver_notifications"
LEASE_TTL = timedelta(minutes=5)


async def run_notification_delivery(
    database: Database, notifications: Notifications, owner: str | None = None
) -> Counter[str] | None:
    """One delivery pass under the job's lease; None when another runner holds it."""
    lease = Lease(database, DELIVERY_JOB, owner or runner_id(), LEASE_TTL)
    if not await lease.acquire():
        log.info("job_skipped", job=DELIVERY_JOB, reason="lease_held_elsewhere")
        return None
    try:
        return await notifications.deliver_due(lease.acquire)
    finally:
        await lease.release()
