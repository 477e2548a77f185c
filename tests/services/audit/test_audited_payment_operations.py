"""A payment operation flagged for review is audited once, naming who drove it there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_errors import PaymentOutcomeUnknown
from app.config import Settings
from app.db import Collections, Database
from app.services.audit import AuditLog
from app.services.payment_operations import (
    JANITOR_JOB,
    CreateTransfer,
    PaymentOperationNeedsReview,
    PaymentOperations,
)
from tests.adapters.emulator_helpers import adapter_settings, fail_requests, make_adapter
from tests.services.audit.support import audit_documents

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

PAST_KEY_RETENTION = timedelta(hours=25)
TRANSFER = CreateTransfer("escrow_1", "order_1", "acct_1", 9000, "usd")


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return adapter_settings(mongodb_uri, emulator)


@pytest.fixture
async def operations(settings: Settings, database: Database) -> AsyncIterator[PaymentOperations]:
    adapter: StripeAdapter = make_adapter(settings)
    yield PaymentOperations(database, adapter, AuditLog(database))
    await adapter.close()


async def pending_for_a_day(
    database: Database, operations: PaymentOperations, emulator: EmulatorServer
) -> None:
    """A transfer whose every attempt went unanswered, that Stripe never made, recorded a day ago."""
    await fail_requests(emulator, "/v1/transfers", count=3, status=500, method="POST")
    with pytest.raises(PaymentOutcomeUnknown):
        await operations.run(TRANSFER)
    recorded = database[Collections.PAYMENT_OPERATIONS]
    current = await recorded.find_one({"_id": TRANSFER.idempotency_key})
    assert current is not None
    await recorded.update_one(
        {"_id": current["_id"]},
        {
            "$set": {
                "created_at": current["created_at"] - PAST_KEY_RETENTION,
                "updated_at": current["updated_at"] - PAST_KEY_RETENTION,
            }
        },
    )


async def flagged_records(database: Database) -> list[tuple[dict[str, str], object, object]]:
    records = await audit_documents(
        database, **{"object.type": "payment_operation", "object.id": TRANSFER.idempotency_key}
    )
    assert {r["action"] for r in records} <= {"payment_operation.flagged_for_review"}
    return [(r["actor"], r["before"], r["after"]) for r in records]


FLAGGED = {"status": "needs_review", "error": {"code": "not_found_after_key_expiry"}}


async def test_the_janitor_flagging_an_operation_is_audited_once(
    database: Database, operations: PaymentOperations, emulator: EmulatorServer
) -> None:
    await pending_for_a_day(database, operations, emulator)

    await operations.reconcile_pending_operations()
    await operations.reconcile_pending_operations()
    with pytest.raises(PaymentOperationNeedsReview):
        await operations.run(TRANSFER)

    assert await flagged_records(database) == [
        ({"kind": "job", "id": JANITOR_JOB}, {"status": "pending"}, FLAGGED)
    ]


async def test_a_request_driving_an_operation_into_review_is_audited_as_the_system(
    database: Database, operations: PaymentOperations, emulator: EmulatorServer
) -> None:
    await pending_for_a_day(database, operations, emulator)

    with pytest.raises(PaymentOperationNeedsReview):
        await operations.run(TRANSFER)

    assert await flagged_records(database) == [
        ({"kind": "system", "id": "payment_operations"}, {"status": "pending"}, FLAGGED)
    ]
