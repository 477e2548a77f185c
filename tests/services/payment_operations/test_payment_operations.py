"""Payment operations and their janitor, against the Stripe emulator and SecantusDB."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from typer.testing import CliRunner

from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_errors import PaymentOutcomeUnknown, StripeInvalidRequest
from app.cli import cli
from app.config import Settings
from app.db import Collections, Database, Document
from app.services.audit import AuditLog
from app.services.jobs import Lease
from app.services.payment_operations import (
    JANITOR_JOB,
    REQUEST_TYPES,
    CreateCheckoutIntent,
    CreateTransfer,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
    request_from_record,
    run_operations_janitor,
)
from tests.adapters.emulator_helpers import (
    adapter_settings,
    drop_responses,
    fail_requests,
    make_adapter,
    onboarded_seller,
    paid_order,
    transfer_ids,
)

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

NOW_ONLY = timedelta(0)
PAST_KEY_RETENTION = timedelta(hours=25)


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return adapter_settings(mongodb_uri, emulator)


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[StripeAdapter]:
    adapter = make_adapter(settings)
    yield adapter
    await adapter.close()


@pytest.fixture
def operations(database: Database, provider: StripeAdapter) -> PaymentOperations:
    return PaymentOperations(database, provider, AuditLog(database))


@pytest.fixture
async def transfer_request(provider: StripeAdapter, emulator: EmulatorServer) -> CreateTransfer:
    seller = await onboarded_seller(provider, emulator, "seller_1")
    order = await paid_order(provider, emulator, "order_1", 10_000)
    return CreateTransfer(
        escrow_id="escrow_1",
        order_id="order_1",
        destination=seller,
        amount=9000,
        currency="usd",
        source_transaction=order.latest_charge,
        metadata={"seller_id": "seller_1"},
    )


async def operation(database: Database, operation_id: str) -> Document:
    found = await database[Collections.PAYMENT_OPERATIONS].find_one({"_id": operation_id})
    assert found is not None
    return found


async def age(database: Database, operation_id: str, by: timedelta) -> None:
    """Make an operation look as if it was recorded and last tried `by` ago."""
    current = await operation(database, operation_id)
    await database[Collections.PAYMENT_OPERATIONS].update_one(
        {"_id": operation_id},
        {"$set": {"created_at": current["created_at"] - by, "updated_at": current["updated_at"] - by}},
    )


async def pending_after_lost_answers(
    operations: PaymentOperations, emulator: EmulatorServer, request: CreateTransfer, performed: bool
) -> None:
    """Every attempt goes unanswered: Stripe either did the transfer (`performed`) or did nothing."""
    if performed:
        await drop_responses(emulator, "/v1/transfers", count=3)
    else:
        await fail_requests(emulator, "/v1/transfers", count=3, status=500, method="POST")
    with pytest.raises(PaymentOutcomeUnknown):
        await operations.run(request)


async def test_an_operation_is_recorded_completed_and_never_sent_twice(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    transfer_request: CreateTransfer,
) -> None:
    transfer = await operations.run(transfer_request, refs={"dispute_id": "none"})

    recorded = await operation(database, "transfer:escrow_1")
    assert recorded["status"] == "succeeded"
    assert recorded["idempotency_key"] == "transfer:escrow_1"
    assert (recorded["kind"], recorded["operation_id"], recorded["attempts"]) == ("transfer", "escrow_1", 1)
    assert recorded["stripe_id"] == transfer.id
    assert recorded["result"]["amount"] == 9000
    assert recorded["refs"] == {"escrow_id": "escrow_1", "order_id": "order_1", "dispute_id": "none"}
    assert recorded["request"] == transfer_request.params()

    await fail_requests(emulator, "/v1/transfers", count=1, status=400, method="POST")
    assert await operations.run(transfer_request) == transfer
    assert len((await emulator.inspect_async("faults"))["faults"]) == 1  # Stripe was not called
    assert (await operation(database, "transfer:escrow_1"))["attempts"] == 1


async def test_an_operation_id_cannot_be_reused_for_another_request(
    operations: PaymentOperations, transfer_request: CreateTransfer
) -> None:
    await operations.run(transfer_request)
    other = CreateTransfer(**{**transfer_request.params(), "amount": 1})
    with pytest.raises(PaymentOperationConflict):
        await operations.run(other)


async def test_a_refused_call_is_recorded_failed_with_its_code(
    operations: PaymentOperations, database: Database
) -> None:
    request = CreateTransfer("escrow_1", "order_1", "acct_missing", 100, "usd")
    with pytest.raises(StripeInvalidRequest):
        await operations.run(request)

    recorded = await operation(database, "transfer:escrow_1")
    assert recorded["status"] == "failed"
    assert recorded["error"]["code"] == "stripe_invalid_request"


async def test_a_call_completed_by_its_caller_stays_pending_until_that_transaction_commits(
    operations: PaymentOperations, database: Database, transfer_request: CreateTransfer
) -> None:
    recording, recorded = operations.record_in(transfer_request)
    await database.write_together([recording])
    transfer = await operations.send_recorded(transfer_request, recorded)
    assert (await operation(database, "transfer:escrow_1"))["status"] == "pending"

    async def rolled_back(session: AsyncClientSession) -> None:
        await database[Collections.PAYMENT_OPERATIONS].find_one({"_id": recorded.id}, session=session)
        await operations.complete_in(session, recorded, transfer)
        raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        await database.transaction(rolled_back)
    assert (await operation(database, "transfer:escrow_1"))["status"] == "pending"

    async def committed(session: AsyncClientSession) -> None:
        await database[Collections.PAYMENT_OPERATIONS].find_one({"_id": recorded.id}, session=session)
        await operations.complete_in(session, recorded, transfer)

    await database.transaction(committed)
    completed = await operation(database, "transfer:escrow_1")
    assert (completed["status"], completed["stripe_id"], completed["attempts"]) == (
        "succeeded",
        transfer.id,
        1,
    )
    assert await operations.run(transfer_request) == transfer  # answered from the record


async def test_a_refusal_of_a_call_its_caller_completes_is_recorded_failed_at_once(
    operations: PaymentOperations, database: Database
) -> None:
    request = CreateTransfer("escrow_1", "order_1", "acct_missing", 100, "usd")
    recording, recorded = operations.record_in(request)
    await database.write_together([recording])
    with pytest.raises(StripeInvalidRequest):
        await operations.send_recorded(request, recorded)

    assert (await operation(database, "transfer:escrow_1"))["status"] == "failed"


async def test_a_payment_intent_is_recorded_without_its_client_secret(
    operations: PaymentOperations, database: Database
) -> None:
    request = CreateCheckoutIntent("order_1", 2500, "usd", {"buyer_id": "b1"})
    created = await operations.run(request)

    recorded = await operation(database, "checkout:order_1")
    assert "client_secret" not in recorded["result"]
    replayed = await operations.run(request)
    assert (replayed.id, replayed.client_secret) == (created.id, created.client_secret)


def test_every_kind_replays_from_its_stored_params() -> None:
    assert len(REQUEST_TYPES) == 10
    transfer = CreateTransfer("escrow_1", "order_1", "acct_1", 9000, "usd", None, {"a": "b"})
    assert request_from_record("transfer", transfer.params()) == transfer


async def test_the_janitor_learns_the_one_transfer_a_dropped_response_made(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    provider: StripeAdapter,
    transfer_request: CreateTransfer,
) -> None:
    await pending_after_lost_answers(operations, emulator, transfer_request, performed=True)
    assert (await operation(database, "transfer:escrow_1"))["status"] == "pending"
    assert await operations.reconcile_pending_operations() == Counter()  # too recent to re-drive

    assert await operations.reconcile_pending_operations(older_than=NOW_ONLY) == Counter(succeeded=1)

    [transfer_id] = await transfer_ids(provider)
    resolved = await operation(database, "transfer:escrow_1")
    assert (resolved["status"], resolved["stripe_id"], resolved["attempts"]) == ("succeeded", transfer_id, 2)
    assert await operations.reconcile_pending_operations(older_than=NOW_ONLY) == Counter()
    assert await operation(database, "transfer:escrow_1") == resolved
    assert await transfer_ids(provider) == [transfer_id]


async def test_after_a_day_the_janitor_finds_the_transfer_by_its_metadata(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    provider: StripeAdapter,
    transfer_request: CreateTransfer,
) -> None:
    await pending_after_lost_answers(operations, emulator, transfer_request, performed=True)
    await age(database, "transfer:escrow_1", PAST_KEY_RETENTION)
    await fail_requests(emulator, "/v1/transfers", count=1, status=400, method="POST")  # no replay wanted

    assert await operations.reconcile_pending_operations() == Counter(succeeded=1)

    [transfer_id] = await transfer_ids(provider)
    resolved = await operation(database, "transfer:escrow_1")
    assert (resolved["status"], resolved["stripe_id"], resolved["attempts"]) == ("succeeded", transfer_id, 1)
    assert len((await emulator.inspect_async("faults"))["faults"]) == 1  # nothing was re-sent


async def test_after_a_day_an_operation_with_nothing_to_find_needs_review(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    provider: StripeAdapter,
    transfer_request: CreateTransfer,
) -> None:
    await pending_after_lost_answers(operations, emulator, transfer_request, performed=False)
    await age(database, "transfer:escrow_1", PAST_KEY_RETENTION)

    assert await operations.reconcile_pending_operations() == Counter(needs_review=1)

    flagged = await operation(database, "transfer:escrow_1")
    assert flagged["status"] == "needs_review"
    assert flagged["error"]["code"] == "not_found_after_key_expiry"
    with pytest.raises(PaymentOperationNeedsReview):
        await operations.run(transfer_request)
    assert await transfer_ids(provider) == []


async def test_two_janitors_at_once_only_one_runs(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    transfer_request: CreateTransfer,
) -> None:
    await pending_after_lost_answers(operations, emulator, transfer_request, performed=True)
    # A slow answer keeps the first janitor busy while the second one tries its luck.
    await emulator.control_async("faults", path_prefix="/v1/transfers", method="POST", delay_seconds=0.3)

    first, second = await asyncio.gather(
        run_operations_janitor(database, operations, NOW_ONLY, owner="janitor-a"),
        run_operations_janitor(database, operations, NOW_ONLY, owner="janitor-b"),
    )

    assert sorted([first, second], key=lambda outcome: outcome is None) == [Counter(succeeded=1), None]
    assert (await operation(database, "transfer:escrow_1"))["attempts"] == 2
    assert await Lease(database, JANITOR_JOB, "janitor-c", timedelta(seconds=5)).acquire()  # released


def cli_environment(settings: Settings) -> dict[str, str]:
    return {
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "STRIPE_SECRET_KEY": settings.stripe_secret_key.get_secret_value(),
        "STRIPE_API_BASE": settings.stripe_api_base or "",
        "STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret.get_secret_value(),
        "STRIPE_CONNECT_WEBHOOK_SECRET": settings.stripe_connect_webhook_secret.get_secret_value(),
        "JWT_SECRET": settings.jwt_secret.get_secret_value() if settings.jwt_secret else "",
        "LOG_LEVEL": "WARNING",
    }


async def test_the_reconcile_operations_command_runs_the_janitor_under_its_lease(
    operations: PaymentOperations,
    database: Database,
    emulator: EmulatorServer,
    settings: Settings,
    transfer_request: CreateTransfer,
) -> None:
    await pending_after_lost_answers(operations, emulator, transfer_request, performed=True)
    runner = CliRunner(env=cli_environment(settings))
    command = ["reconcile-operations", "--older-than-minutes", "0"]

    holder = Lease(database, JANITOR_JOB, "someone-else", timedelta(minutes=1))
    assert await holder.acquire()
    blocked = await asyncio.to_thread(runner.invoke, cli, command)
    assert blocked.exit_code == 0, blocked.output
    assert "another runner holds" in blocked.output
    assert (await operation(database, "transfer:escrow_1"))["status"] == "pending"

    await holder.release()
    done = await asyncio.to_thread(runner.invoke, cli, command)
    assert done.exit_code == 0, done.output
    assert "1 payment operations re-driven: succeeded=1" in done.output
    assert (await operation(database, "transfer:escrow_1"))["status"] == "succeeded"
