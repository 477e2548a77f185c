"""Every call that creates or changes something at the payment provider, recorded before and after.

An operation is written `pending` (with its request and deterministic idempotency key) before
the call, and completed after it: `succeeded` with the provider's object, or `failed` with the
error code. When the outcome is unknown it stays `pending`; the janitor re-drives it with the
same key, so the provider replays its answer instead of creating a second object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_errors import PROVIDER_ERRORS, PaymentProviderError
from app.db import Database, NamespacedWrite
from app.domain.audit import Actor, AuditObject
from app.domain.payment_operations import OperationKind, OperationStatus
from app.errors import ServiceError
from app.services.audit import AuditLog
from app.services.payment_operations.repository import PaymentOperation, PaymentOperationRepository
from app.services.payment_operations.requests import PaymentRequest, request_from_record, result_record

log = structlog.get_logger(__name__)

R = TypeVar("R")
# Told what the janitor learnt of an operation of its kind (a domain writing the outcome back).
OperationListener = Callable[[PaymentOperation], Awaitable[None]]

# Stripe keeps an idempotency key for at least 24 hours; after that a replay could create anew.
KEY_RETENTION = timedelta(hours=24)
# Objects are looked for from a little before the operation was recorded (clocks differ).
SEARCH_SLACK = timedelta(minutes=5)
JANITOR_JOB = "reconcile_payment_operations"
# Who settles an operation's outcome: the caller's request driving it, or the janitor.
IN_REQUEST = Actor.system("payment_operations")
JANITOR = Actor.job(JANITOR_JOB)


class PaymentOperationConflict(ServiceError):
    code = "payment_operation_conflict"
    status = 409
    title = "This operation id was already used for a different request"


class PaymentOperationNeedsReview(ServiceError):
    code = "payment_operation_needs_review"
    status = 409
    title = "The outcome of this payment operation must be checked by an operator"


# What `PaymentOperations.run` can raise, for the routes that call it to declare.
PAYMENT_OPERATION_ERRORS: tuple[type[ServiceError], ...] = (
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    *PROVIDER_ERRORS,
)


class PaymentOperations:
    def __init__(self, database: Database, provider: PaymentProvider, audit: AuditLog) -> None:
        self._db = database
        self._operations = PaymentOperationRepository(database)
        self._provider = provider
        self._audit = audit
        self._listeners: dict[OperationKind, list[OperationListener]] = {}

    def on_redriven(self, kind: OperationKind, listener: OperationListener) -> None:
        """Call `listener` with each operation of `kind` the janitor finishes: only the janitor,
        since whoever called `run` learns the outcome from its answer."""
        self._listeners.setdefault(kind, []).append(listener)

    async def run(
        self,
        request: PaymentRequest[R],
        refs: Mapping[str, str] | None = None,
        *,
        recorded: PaymentOperation | None = None,
    ) -> R:
        """Perform `request` once: an operation that already succeeded returns its recorded result.

        A pending or failed one is sent again with the same idempotency key, which is safe: the
        provider replays what it did, or does it now if it never did. `recorded`: the operation
        the caller recorded in its own transaction, committed (`record_in`), sent as it is.
        """
        if recorded is not None:
            return await self._drive(request, recorded, IN_REQUEST, counted=True)
        operation, first = await self._record_pending(request, refs or {})
        if operation.status is OperationStatus.SUCCEEDED and operation.result is not None:
            return await request.recorded(self._provider, operation.result)
        if operation.status is OperationStatus.NEEDS_REVIEW:
            raise PaymentOperationNeedsReview(
                f"payment operation {operation.id} is waiting for an operator", operation_id=operation.id
            )
        return await self._drive(request, operation, IN_REQUEST, counted=first)

    def record_in(
        self, request: PaymentRequest[Any], refs: Mapping[str, str] | None = None
    ) -> tuple[NamespacedWrite, PaymentOperation]:
        """The pending record of `request`, for the caller to write in the transaction that
        decides the call (one command fewer than recording it apart), and the operation to
        `run(request, recorded=...)` once that transaction commits. Recorded there, the call is
        made even if the caller stops before making it: the janitor finds it pending."""
        key = request.idempotency_key
        return self._operations.pending_write(
            key,
            str(request.kind),
            request.operation_id,
            request.params(),
            {**request.refs(), **(refs or {})},
            datetime.now(UTC),
        )

    async def send_recorded(self, request: PaymentRequest[R], recorded: PaymentOperation) -> R:
        """Send `request` as `run(request, recorded=recorded)` does, but leave its success for
        the caller to complete (`complete_in` or `succeeded_write`) in the transaction that
        stores what the answer changes: one command fewer, and the operation is pending until
        that commits, so the janitor re-drives it (same key) and tells this kind's listeners
        should the caller stop before. A refusal is completed here, as `run` does. `recorded`:
        just recorded by `record_in`, committed."""
        return await self._send(request, recorded.id)

    async def complete_in(
        self,
        session: AsyncClientSession,
        operation: PaymentOperation,
        result: object,
        *,
        along: Sequence[NamespacedWrite] = (),
    ) -> None:
        """Complete `operation` with the provider's `result` in the caller's transaction, unless
        it is finished already, sending `along` (the caller's audit record) in the same command:
        a `bulkWrite`, so not the transaction's first command (SecantusDB refuses it there)."""
        await self._db.write_together([self.succeeded_write(operation.id, result), *along], session=session)

    def succeeded_write(self, operation_id: str, result: object) -> NamespacedWrite:
        """The completion of a sent operation with the provider's answer, for the caller's
        transaction (`Database.write_together`); an operation finished already stays as it is."""
        return self._operations.completion_write(
            operation_id, OperationStatus.SUCCEEDED, _succeeded_fields(result), datetime.now(UTC)
        )

    async def reconcile_pending_operations(
        self,
        older_than: timedelta = timedelta(minutes=5),
        keep_going: Callable[[], Awaitable[bool]] | None = None,
    ) -> Counter[str]:
        """Re-drive every operation pending for longer than `older_than`; count the statuses they end in.

        `keep_going` is asked before each operation (a lease renewal): False stops the pass.
        """
        outcomes: Counter[str] = Counter()
        async for operation in self._operations.pending_since(datetime.now(UTC) - older_than):
            if keep_going is not None and not await keep_going():
                break
            outcomes[await self._redrive(operation)] += 1
        log.info("payment_operations_reconciled", **outcomes)
        return outcomes

    async def _redrive(self, operation: PaymentOperation) -> str:
        try:
            request = request_from_record(operation.kind, operation.request)
            await self._drive(request, operation, JANITOR)
        except (PaymentProviderError, PaymentOperationNeedsReview):
            pass  # the operation's record says what happened
        except Exception:
            # One unreadable record must not stop the others from being re-driven.
            log.exception("payment_operation_redrive_crashed", operation_id=operation.id)
        current = await self._operations.get(operation.id)
        if current is None:
            return OperationStatus.PENDING.value
        if current.status is not OperationStatus.PENDING:
            await self._tell_listeners(current)
        return str(current.status)

    async def _tell_listeners(self, operation: PaymentOperation) -> None:
        for listener in self._listeners.get(OperationKind(operation.kind), []):
            try:
                await listener(operation)
            except Exception:
                # The operation's own record is right; a listener that fails is retried by nothing
                # but is logged, and must not stop the janitor's pass.
                log.exception("payment_operation_listener_failed", operation_id=operation.id)

    async def _record_pending(
        self, request: PaymentRequest[Any], refs: Mapping[str, str]
    ) -> tuple[PaymentOperation, bool]:
        """The operation's record, and whether it was recorded just now (its attempt counted)."""
        key, params = request.idempotency_key, request.params()
        recorded = await self._operations.insert_pending(
            key,
            str(request.kind),
            request.operation_id,
            params,
            {**request.refs(), **refs},
            datetime.now(UTC),
        )
        if recorded is not None:
            log.info("payment_operation_recorded", operation_id=key, kind=str(request.kind))
            return recorded, True
        existing = await self._operations.get(key)
        if existing is None:  # only an operator deletes operations; treat it as a conflict
            raise PaymentOperationConflict(
                f"operation {key} vanished while it was recorded", operation_id=key
            )
        if existing.request != params:
            raise PaymentOperationConflict(
                f"operation {key} was recorded with different parameters", operation_id=key
            )
        return existing, False

    async def _drive(
        self, request: PaymentRequest[R], operation: PaymentOperation, actor: Actor, *, counted: bool = False
    ) -> R:
        if _key_expired(operation):
            return await self._resolve_by_metadata(request, operation, actor)
        if not counted:
            await self._operations.count_attempt(operation.id, datetime.now(UTC))
        result = await self._send(request, operation.id)
        await self._complete_succeeded(operation.id, result)
        return result

    async def _send(self, request: PaymentRequest[R], operation_id: str) -> R:
        """The provider's answer to `request`; a refusal completes the operation failed, an
        unknown outcome leaves it pending."""
        try:
            return await request.send(self._provider)
        except PaymentProviderError as error:
            if error.outcome_unknown:
                log.warning("payment_operation_outcome_unknown", operation_id=operation_id, code=error.code)
            else:
                await self._complete_failed(operation_id, error)
            raise

    async def _resolve_by_metadata(
        self, request: PaymentRequest[R], operation: PaymentOperation, actor: Actor
    ) -> R:
        found = await request.find(self._provider, operation.created_at - SEARCH_SLACK)
        if found is None:
            await self._db.transaction(lambda session: self._flag_for_review_in(session, operation.id, actor))
            log.info("payment_operation_completed", operation_id=operation.id, status="needs_review")
            raise PaymentOperationNeedsReview(
                f"payment operation {operation.id} found nothing at the provider after its key expired",
                operation_id=operation.id,
            )
        await self._complete_succeeded(operation.id, found)
        return found

    async def _flag_for_review_in(self, session: AsyncClientSession, operation_id: str, actor: Actor) -> None:
        fields = {"error": {"code": "not_found_after_key_expiry"}}
        now = datetime.now(UTC)
        previous = await self._operations.complete_returning_previous(
            operation_id, OperationStatus.NEEDS_REVIEW, fields, now, session
        )
        if previous is None:
            return
        await self._audit.record(
            session,
            actor,
            "payment_operation.flagged_for_review",
            AuditObject("payment_operation", operation_id),
            before={"status": str(previous)},
            after={"status": str(OperationStatus.NEEDS_REVIEW), **fields},
        )

    async def _complete_succeeded(self, operation_id: str, result: object) -> None:
        await self._complete(operation_id, OperationStatus.SUCCEEDED, _succeeded_fields(result))

    async def _complete_failed(self, operation_id: str, error: PaymentProviderError) -> None:
        failure = {"code": error.code, "stripe_code": error.stripe_code, "detail": error.detail}
        await self._complete(operation_id, OperationStatus.FAILED, {"error": failure})

    async def _complete(self, operation_id: str, status: OperationStatus, fields: dict[str, Any]) -> None:
        await self._operations.complete(operation_id, status, fields, datetime.now(UTC))
        log.info("payment_operation_completed", operation_id=operation_id, status=status.value)


def _succeeded_fields(result: object) -> dict[str, Any]:
    record = result_record(result)
    return {"result": record, "stripe_id": record.get("id"), "error": None}


def _key_expired(operation: PaymentOperation) -> bool:
    return bool(datetime.now(UTC) - operation.created_at >= KEY_RETENTION)
