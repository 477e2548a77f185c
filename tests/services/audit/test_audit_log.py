"""Recording audited changes inside the change's transaction, and sealing them into one chain."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from app.config import Settings
from app.db import Collections, Database, connect
from app.domain.audit import GENESIS_HASH, Actor, AuditObject, UnauditableValue
from app.services.audit import SEALER_JOB, AuditLog, AuditOutsideTransaction, AuditSealer, AuditVerifier
from app.services.jobs import Lease
from tests.services.audit.support import (
    TEST_ACTION,
    audit_documents,
    record_change,
    stored_chain,
    waiting_count,
)


@pytest.fixture
def audit(database: Database) -> AuditLog:
    return AuditLog(database)


async def test_a_record_outside_a_transaction_is_refused(database: Database, audit: AuditLog) -> None:
    async with database.client.start_session() as session:
        with pytest.raises(AuditOutsideTransaction):
            await audit.record(
                session, Actor.job("j"), TEST_ACTION, AuditObject("test_object", "o1"), before=None, after={}
            )
    assert await audit_documents(database) == []


async def test_a_rolled_back_transaction_leaves_no_audit_record(database: Database, audit: AuditLog) -> None:
    class ChangeFailed(Exception):
        pass

    async def change(session: AsyncClientSession) -> None:
        await database["things"].insert_one({"_id": "t1"}, session=session)
        await audit.record(
            session,
            Actor.job("j"),
            TEST_ACTION,
            AuditObject("test_object", "t1"),
            before=None,
            after={"created": True},
        )
        raise ChangeFailed

    with pytest.raises(ChangeFailed):
        await database.transaction(change)

    assert await database["things"].count_documents({}) == 0
    assert await audit_documents(database) == []


async def test_a_float_in_a_record_aborts_the_change_it_records(database: Database, audit: AuditLog) -> None:
    async def change(session: AsyncClientSession) -> None:
        await database["things"].insert_one({"_id": "t1"}, session=session)
        await audit.record(
            session,
            Actor.job("j"),
            TEST_ACTION,
            AuditObject("test_object", "t1"),
            before=None,
            after={"amount": 19.99},
        )

    with pytest.raises(UnauditableValue):
        await database.transaction(change)

    assert await database["things"].count_documents({}) == 0
    assert await audit_documents(database) == []


async def test_the_request_id_comes_from_the_request_context_unless_given(
    database: Database, audit: AuditLog
) -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-from-context"):
        from_context = await record_change(database, audit, "o1")
        given = await database.transaction(
            lambda session: audit.record(
                session,
                Actor.job("j"),
                TEST_ACTION,
                AuditObject("test_object", "o2"),
                before=None,
                after=None,
                request_id="req-given",
            )
        )
    outside = await record_change(database, audit, "o3")

    assert (from_context.request_id, given.request_id, outside.request_id) == (
        "req-from-context",
        "req-given",
        None,
    )


async def test_records_are_sealed_in_order_and_verify_reports_those_waiting(
    database: Database, audit: AuditLog
) -> None:
    recorded = [await record_change(database, audit, f"o{index}", step=index) for index in range(5)]
    verifier = AuditVerifier(database)

    waiting = await verifier.verify()
    assert (waiting.intact, waiting.sealed, waiting.unsealed) == (True, 0, 5)
    assert waiting.oldest_unsealed_at == recorded[0].at

    assert await AuditSealer(database, "sealer-1").seal_pending() == 5
    assert await AuditSealer(database, "sealer-1").seal_pending() == 0

    chain = await stored_chain(database)
    assert [d["_id"] for d in chain] == [r.id for r in recorded]
    assert [d["seq"] for d in chain] == [1, 2, 3, 4, 5]
    assert [d["prev_hash"] for d in chain] == [GENESIS_HASH] + [d["hash"] for d in chain[:-1]]
    assert await waiting_count(database) == 0
    sealed = await verifier.verify()
    assert (sealed.intact, sealed.sealed, sealed.unsealed, sealed.oldest_unsealed_at) == (True, 5, 0, None)
    head = await database[Collections.AUDIT_CHAIN].find_one({"_id": "head"})
    assert head is not None
    assert (head["seq"], head["hash"]) == (5, chain[-1]["hash"])


async def test_a_sealer_waits_while_another_holds_the_lease(database: Database, audit: AuditLog) -> None:
    await record_change(database, audit, "o1")
    holder = Lease(database, SEALER_JOB, "holder", timedelta(minutes=1))
    assert await holder.acquire()

    assert await AuditSealer(database, "other").seal_pending() is None
    await holder.release()
    assert await AuditSealer(database, "other").seal_pending() == 1


@pytest.fixture
async def five_clients(settings: Settings, database: Database) -> AsyncIterator[list[Database]]:
    """Five clients, as five processes would have: nothing but MongoDB serializes them."""
    clients = [connect(settings.mongodb_uri, settings.mongodb_database) for _ in range(5)]
    yield clients
    for client in clients:
        await client.close()


async def test_sealers_racing_without_a_lease_never_fork_the_chain(
    database: Database, audit: AuditLog, five_clients: list[Database]
) -> None:
    """A lease that lapses mid-pass lets two sealers run: the head's compare-and-set keeps one chain."""
    for index in range(60):
        await record_change(database, audit, f"o{index}")
    # A lease that expires as soon as it is taken: every sealer runs whenever it asks.
    sealers = [
        AuditSealer(client, f"sealer-{index}", batch_size=7, lease_ttl=timedelta(0))
        for index, client in enumerate(five_clients)
    ]

    async def keep_sealing(sealer: AuditSealer) -> int:
        sealed = 0
        while await waiting_count(database):
            sealed += await sealer.seal_pending() or 0
        return sealed

    sealed_by_each = await asyncio.gather(*(keep_sealing(sealer) for sealer in sealers))

    assert sum(sealed_by_each) == 60
    assert sum(1 for sealed in sealed_by_each if sealed) >= 2, "the sealers took turns, they did not race"

    chain = await stored_chain(database)
    assert [d["seq"] for d in chain] == list(range(1, 61))
    assert len({d["_id"] for d in chain}) == 60
    report = await AuditVerifier(database).verify()
    assert (report.intact, report.sealed, report.unsealed) == (True, 60, 0)
