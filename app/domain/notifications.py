"""Admin notifications' rules: what each says, and when a failed delivery is tried again. Pure."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum


class NotificationKind(StrEnum):
    DISPUTE_OPENED = "dispute.opened"
    CHARGEBACK_OPENED = "chargeback.opened"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Tried `NOTIFICATION_MAX_ATTEMPTS` times; still listed by `GET /admin/notifications`.
    FAILED = "failed"


def notification_id_for(kind: NotificationKind, subject_id: str) -> str:
    """One notification per kind and subject, however often the cause is processed."""
    digest = hashlib.sha256("\x1f".join((str(kind), subject_id)).encode()).hexdigest()
    return f"ntf_{digest[:24]}"


def retry_delay(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after the `attempts`-th failed delivery: doubling from `base`, at most `cap`."""
    doubled: timedelta = base * (2 ** max(attempts - 1, 0))
    return min(doubled, cap)
