"""Admin notifications: written in the transaction of what they are about, listed for admins,
and, when `NOTIFICATION_URL` is set, POSTed there by a job from an outbox written in the same
transaction, so the request that caused one never waits on the receiver and a notification is
never lost nor sent for a change that rolled back. Each failed delivery is tried again after a
doubling delay, up to `NOTIFICATION_MAX_ATTEMPTS`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.notification_sender import NotificationNotDelivered
from app.db import Database
from app.domain.audit import Actor, AuditObject
from app.domain.notifications import NotificationKind, notification_id_for, retry_delay
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.notifications import metrics
from app.services.notifications.repository import (
    Notification,
    NotificationPage,
    NotificationRepository,
    notification_document,
    outbox_document,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# How long a sender holds an entry it claimed (longer than one POST with its timeout).
CLAIM_HOLD = timedelta(minutes=2)


class Sender(Protocol):
    async def send(self, payload: dict[str, Any]) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifications:
    def __init__(
        self,
        database: Database,
        sender: Sender | None,
        audit: AuditLog,
        *,
        max_attempts: int,
        retry_base: timedelta,
        retry_cap: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._notifications = NotificationRepository(database)
        self._audit = audit
        self._sender = sender
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._clock = clock

    async def notify_in(
        self,
        session: AsyncClientSession,
        kind: NotificationKind,
        subject_type: str,
        subject_id: str,
        title: str,
        facts: dict[str, Any],
    ) -> None:
        """A notification about `subject`, in the caller's transaction (with its outbox entry
        when there is somewhere to send it)."""
        now = self._clock()
        document = notification_document(
            notification_id_for(kind, subject_id),
            kind,
            subject_type,
            subject_id,
            title,
            facts,
            now,
            delivered_outside=self._sender is not None,
        )
        outbox = outbox_document(document, now) if self._sender is not None else None
        await self._notifications.insert(session, document, outbox)
        metrics.NOTIFICATIONS.labels(str(kind)).inc()

    async def page(self, unread: bool | None, limit: int, starting_after: str | None) -> NotificationPage:
        return await self._notifications.page(unread, limit, starting_after)

    async def mark_read(self, notification_id: str, actor: Actor) -> Notification:
        """Read by `actor` now, audited; reading it again changes nothing (the first reader stays)."""
        read = await self._db.transaction(lambda session: self._mark_read_in(session, notification_id, actor))
        found = read or await self._notifications.get(notification_id)
        if found is None:
            raise NotFound(f"no notification {notification_id}")
        return found

    async def _mark_read_in(
        self, session: AsyncClientSession, notification_id: str, actor: Actor
    ) -> Notification | None:
        read = await self._notifications.mark_read(session, notification_id, actor.id, self._clock())
        if read is not None:
            await self._audit.record(
                session,
                actor,
                "notification.read",
                AuditObject("notification", notification_id),
                before={"read": False},
                after={"read": True},
            )
        return read

    async def deliver_due(self, keep_going: Callable[[], Awaitable[bool]] | None = None) -> Counter[str]:
        """POST every notification due; how each went."""
        outcomes: Counter[str] = Counter()
        if self._sender is None:
            return outcomes
        while keep_going is None or await keep_going():
            now = self._clock()
            entry = await self._notifications.claim_due(now, now + CLAIM_HOLD)
            if entry is None:
                break
            try:
                await self._sender.send(entry.payload)
            except NotificationNotDelivered as error:
                if entry.attempts >= self._max_attempts:
                    await self._notifications.failed(entry, self._clock(), str(error))
                    outcomes["failed"] += 1
                else:
                    when = self._clock() + retry_delay(entry.attempts, self._retry_base, self._retry_cap)
                    await self._notifications.retry_at(entry, when, str(error))
                    outcomes["retrying"] += 1
                log.warning("notification_not_delivered", notification_id=entry.id, error=str(error))
                continue
            await self._notifications.delivered(entry, self._clock())
            outcomes["delivered"] += 1
        metrics.DELIVERIES.inc(outcomes["delivered"])
        return outcomes
