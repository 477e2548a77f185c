"""Recording audited changes, inside the transaction that makes them, and reading them back.

`AuditLog.record` is the one way into the audit log. With the caller's session it inserts the
record into `audit_pending`, so the record commits or rolls back with the change it describes;
the sealer (`app.services.audit.sealer`) chains it into `audit_log` about a second later.

Why two steps: audited changes include the hottest money paths (every top-up credit, later every
checkout and release). Chaining inside the caller's transaction means every audited transaction
reads and moves one head document, so any two running at once conflict and one of them starts
over: they run one at a time. An insert into `audit_pending` (no index but `_id`) touches nothing
another transaction touches. Measured on SecantusDB (`make bench`: each transaction a top-up
credit's ledger entry, four clients, the variants taking turns; ranges over three runs on a
loaded two-core machine): with 32 transactions in flight the raw entry ran at 155-180/s, with the
audit insert at 134-165/s (86-92 %), and with the record chained in the transaction at 7.5-9.7/s
(4-5 %, 11-12 write conflicts retried per transaction); one at a time the audited transaction
ran at 64-92 % of the raw one either way (no conflicts then, only the extra writes). The sealer
chains 800-860 records/s, several times what those paths can write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from pymongo import InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Database, Document
from app.domain.audit import Actor, AuditChange, AuditEvent, AuditObject, State, utc_millis
from app.services.audit.repository import AuditFilter, AuditPage, AuditRecord, AuditRepository

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditOutsideTransaction(RuntimeError):
    """An audit record written outside a transaction could survive a change that rolled back."""


class AuditLog:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._records = AuditRepository(database)
        self._clock = clock

    async def record(
        self,
        session: AsyncClientSession,
        actor: Actor,
        action: str,
        subject: AuditObject,
        *,
        before: State | None,
        after: State | None,
        request_id: str | None = None,
    ) -> AuditRecord:
        """Record that `actor` did `action` to `subject`, changing it from `before` to `after`.

        Call it inside the transaction of the change (`session`), after the change is known to
        have happened. `request_id` defaults to the current request's. Money in `before` and
        `after` is integer minor units; a float (or any value without a canonical form) raises
        `UnauditableValue` and so aborts the caller's transaction.
        """
        return await self._records.insert_pending(
            session, self._event(session, actor, action, subject, before, after, request_id)
        )

    async def record_many(
        self,
        session: AsyncClientSession,
        actor: Actor,
        changes: Sequence[AuditChange],
        *,
        request_id: str | None = None,
    ) -> None:
        """`record` for each of `changes`, made by `actor` in one transaction, in one command."""
        if changes:
            await self._records.insert_pending_many(
                session,
                [
                    self._event(
                        session, actor, change.action, change.object, change.before, change.after, request_id
                    )
                    for change in changes
                ],
            )

    def prepare(
        self,
        session: AsyncClientSession,
        actor: Actor,
        action: str,
        subject: AuditObject,
        *,
        before: State | None,
        after: State | None,
        request_id: str | None = None,
    ) -> InsertOne[Document]:
        """The insert `record` would send, for the caller to send with its own last write of the
        transaction (`Database.write_together`): one command fewer on a hot money path. The caller
        must send it in `session`, whose transaction must be the change's, as for `record`."""
        return self._records.pending_insert(
            self._event(session, actor, action, subject, before, after, request_id)
        )

    def _event(
        self,
        session: AsyncClientSession,
        actor: Actor,
        action: str,
        subject: AuditObject,
        before: State | None,
        after: State | None,
        request_id: str | None,
    ) -> AuditEvent:
        if not session.in_transaction:
            raise AuditOutsideTransaction(f"{action} must be recorded inside the change's transaction")
        return AuditEvent(
            at=utc_millis(self._clock()),
            actor=actor,
            action=action,
            object=subject,
            before=before,
            after=after,
            request_id=request_id or structlog.contextvars.get_contextvars().get("request_id"),
        )

    async def page(self, where: AuditFilter, limit: int, starting_after: str | None) -> AuditPage:
        """Records matching `where`, newest first; `starting_after` is the last id of the previous page."""
        return await self._records.find_page(where, limit, starting_after)
