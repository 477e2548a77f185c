"""Every call that creates or changes something at the payment provider, recorded before and after.

An operation is written `pending` (with its request and deterministic idempotency key) before
the call, and completed after it: `succeeded` with the provider's object, or `failed` with the
error code. When the outcome is unknown it stays `pending`; the janitor re-drives it with the
same key, so the provider replays its answer instead of creating a second object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import structlog
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_errors import PaymentProviderError
from app.db import Collections, Database, Document
from app.errors import ServiceError
from app.services.leases import Lease, runner_id
from app.services.payment_requests import PaymentRequest, request_from_record, result_record

log = structlog.get_logger(__name__)

R = TypeVar("R")

# Stripe keeps an idempotency key for at least 24 hours; after that a replay could create anew.
KEY_RETENTION = timedelta(hours=24)
# Objects are looked for from a little before the operation was recorded (clocks differ).
SEARCH_SLACK = timedelta(minutes=5)
JANITOR_JOB = "reconcile_payment_operations"
JANITOR_LEASE_TTL = timedelta(minutes=10)


class OperationStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"


class PaymentOperationConflict(ServiceError):
    code = "payment_operation_conflict"
    status = 409
    title = "This operation id was already used for a different request"


class PaymentOperationNeedsReview(ServiceError):
    code = "payment_operation_needs_review"
    status = 409
    title = "The outcome of this payment operation must be checked by an operator"


class PaymentOperations:
    def __init__(self, database: Database, provider: PaymentProvider) -> None:
        self._operations = database[Collections.PAYMENT_OPERATIONS]
        self._provider = provider

    async def run(self, request: PaymentRequest[R], refs: Mapping[str, str] | None = None) -> R:
        """Perform `request` once: an operation that already succeeded returns its recorded result.

        A pending or failed one is sent again with the same idempotency key, which is safe: the
        provider replays what it did, or does it now if it never did.
        """
        operation = await self._record_pending(request, refs or {})
        status = operation["status"]
        if status == OperationStatus.SUCCEEDED:
            return await request.recorded(self._provider, operation["result"])
        if status == OperationStatus.NEEDS_REVIEW:
            raise PaymentOperationNeedsReview(
                f"payment operation {operation['_id']} is waiting for an operator",
                operation_id=operation["_id"],
            )
        return await self._drive(request, operation)

    async def reconcile_pending_operations(
        self,
        older_than: timedelta = timedelta(minutes=5),
        keep_going: Callable[[], Awaitable[bool]] | None = None,
    ) -> Counter[str]:
        """Re-drive every operation pending for longer than `older_than`; count the statuses they end in.

        `keep_going` is asked before each operation (a lease renewal): False stops the pass.
        """
        cutoff = datetime.now(UTC) - older_than
        stale = self._operations.find({"status": OperationStatus.PENDING, "updated_at": {"$lt": cutoff}})
        outcomes: Counter[str] = Counter()
        async for operation in stale.sort("updated_at", ASCENDING):
            if keep_going is not None and not await keep_going():
                break
            outcomes[await self._redrive(operation)] += 1
        log.info("payment_operations_reconciled", **outcomes)
        return outcomes

    async def _redrive(self, operation: Document) -> str:
        try:
            request = request_from_record(operation["kind"], operation["request"])
            await self._drive(request, operation)
        except (PaymentProviderError, PaymentOperationNeedsReview):
            pass  # the operation's record says what happened
        except Exception:
            # One unreadable record must not stop the others from being re-driven.
            log.exception("payment_operation_redrive_crashed", operation_id=operation["_id"])
        current = await self._operations.find_one({"_id": operation["_id"]}, {"status": 1})
        return str(current["status"]) if current else OperationStatus.PENDING

    async def _record_pending(self, request: PaymentRequest[Any], refs: Mapping[str, str]) -> Document:
        now = datetime.now(UTC)
        operation: Document = {
            "_id": request.idempotency_key,
            "kind": str(request.kind),
            "operation_id": request.operation_id,
            "idempotency_key": request.idempotency_key,
            "request": request.params(),
            "refs": {**request.refs(), **refs},
            "status": OperationStatus.PENDING.value,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._operations.insert_one(operation)
        except DuplicateKeyError:
            existing = await self._operations.find_one({"_id": request.idempotency_key})
            if existing is None:  # only an operator deletes operations; treat it as a conflict
                raise
            if existing["request"] != operation["request"]:
                raise PaymentOperationConflict(
                    f"operation {request.idempotency_key} was recorded with different parameters",
                    operation_id=request.idempotency_key,
                ) from None
            return existing
        log.info("payment_operation_recorded", operation_id=operation["_id"], kind=operation["kind"])
        return operation

    async def _drive(self, request: PaymentRequest[R], operation: Document) -> R:
        if _key_expired(operation):
            return await self._resolve_by_metadata(request, operation)
        await self._operations.update_one(
            {"_id": operation["_id"]},
            {"$inc": {"attempts": 1}, "$set": {"updated_at": datetime.now(UTC)}},
        )
        try:
            result = await request.send(self._provider)
        except PaymentProviderError as error:
            if error.outcome_unknown:
                log.warning(
                    "payment_operation_outcome_unknown", operation_id=operation["_id"], code=error.code
                )
            else:
                await self._complete_failed(operation["_id"], error)
            raise
        await self._complete_succeeded(operation["_id"], result)
        return result

    async def _resolve_by_metadata(self, request: PaymentRequest[R], operation: Document) -> R:
        created_from = operation["created_at"] - SEARCH_SLACK
        found = await request.find(self._provider, created_from)
        if found is None:
            await self._complete(
                operation["_id"],
                OperationStatus.NEEDS_REVIEW,
                {"error": {"code": "not_found_after_key_expiry"}},
            )
            raise PaymentOperationNeedsReview(
                f"payment operation {operation['_id']} found nothing at the provider after its key expired",
                operation_id=operation["_id"],
            )
        await self._complete_succeeded(operation["_id"], found)
        return found

    async def _complete_succeeded(self, operation_id: str, result: object) -> None:
        record = result_record(result)
        await self._complete(
            operation_id,
            OperationStatus.SUCCEEDED,
            {"result": record, "stripe_id": record.get("id"), "error": None},
        )

    async def _complete_failed(self, operation_id: str, error: PaymentProviderError) -> None:
        failure = {"code": error.code, "stripe_code": error.stripe_code, "detail": error.detail}
        await self._complete(operation_id, OperationStatus.FAILED, {"error": failure})

    async def _complete(self, operation_id: str, status: OperationStatus, fields: Document) -> None:
        now = datetime.now(UTC)
        # Only an unfinished operation may change; a concurrent success is never overwritten.
        await self._operations.update_one(
            {"_id": operation_id, "status": {"$in": [OperationStatus.PENDING, OperationStatus.FAILED]}},
            {"$set": {**fields, "status": status.value, "updated_at": now, "completed_at": now}},
        )
        log.info("payment_operation_completed", operation_id=operation_id, status=status.value)


def _key_expired(operation: Document) -> bool:
    return bool(datetime.now(UTC) - operation["created_at"] >= KEY_RETENTION)


async def run_operations_janitor(
    database: Database,
    operations: PaymentOperations,
    older_than: timedelta = timedelta(minutes=5),
    owner: str | None = None,
) -> Counter[str] | None:
    """One janitor pass under the job lease; None when another runner holds the lease."""
    lease = Lease(database, JANITOR_JOB, owner or runner_id(), JANITOR_LEASE_TTL)
    if not await lease.acquire():
        log.info("payment_operations_janitor_skipped", reason="lease_held_elsewhere")
        return None
    try:
        return await operations.reconcile_pending_operations(older_than, keep_going=lease.acquire)
    finally:
        await lease.release()
