"""Changing, deleting or reordering any sealed record makes verify fail at that very record."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.db import Collections, Database, Document
from app.domain.audit import Actor
from app.services.audit import AuditLog, AuditSealer, AuditVerifier, ChainReport
from tests.services.audit.support import record_change, stored_chain

CHAIN = 8
FIELDS = [
    "seq",
    "at",
    "actor.kind",
    "actor.id",
    "action",
    "object.type",
    "object.id",
    "before",
    "after",
    "request_id",
    "prev_hash",
    "hash",
]
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def chain(database: Database) -> AsyncIterator[list[Document]]:
    """A sealed chain of CHAIN records; each example tampers with it, then puts it back."""
    audit = AuditLog(database)
    for index in range(CHAIN):
        actor = Actor.from_roles(f"admin-{index}", ["admin"]) if index % 2 else Actor.webhook(f"evt_{index}")
        await record_change(database, audit, f"o{index}", actor=actor, step=index)
    await AuditSealer(database, "sealer").seal_pending()
    documents = await stored_chain(database)
    assert [d["seq"] for d in documents] == list(range(1, CHAIN + 1))
    yield documents
    assert (await verify(database)).intact, "every example put the chain back"


async def verify(database: Database) -> ChainReport:
    return await AuditVerifier(database).verify()


def field_of(document: Document, path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value[part]
    return value


def tampered(path: str, value: Any) -> Any:
    """Another value of the same kind, as a forger would write."""
    if path == "seq":
        return value + 100
    if path == "at":
        return value + timedelta(milliseconds=1)
    if path in ("prev_hash", "hash"):
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    if path in ("before", "after"):
        return {**value, "amount": value["amount"] + 1}
    if value is None:
        return "forged"
    return f"{value}x"


async def put_back(database: Database, *originals: Document) -> None:
    log = database[Collections.AUDIT_LOG]
    await log.delete_many({"_id": {"$in": [original["_id"] for original in originals]}})
    await log.insert_many(list(originals))


@EXAMPLES
@given(index=st.integers(min_value=0, max_value=CHAIN - 1), path=st.sampled_from(FIELDS))
async def test_changing_any_field_of_any_record_breaks_the_chain_there(
    database: Database, chain: list[Document], index: int, path: str
) -> None:
    original = chain[index]
    await database[Collections.AUDIT_LOG].update_one(
        {"_id": original["_id"]}, {"$set": {path: tampered(path, field_of(original, path))}}
    )
    try:
        report = await verify(database)
    finally:
        await put_back(database, original)

    assert report.first_break is not None
    assert report.first_break.seq == index + 1
    assert report.sealed == index
    # A record whose seq was changed is missing from its place; any other change names the record.
    assert report.first_break.record_id == (None if path == "seq" else original["_id"])


@EXAMPLES
@given(index=st.integers(min_value=0, max_value=CHAIN - 1))
@example(index=CHAIN - 1)  # the last record: only the stored head shows it is gone
async def test_deleting_any_record_breaks_the_chain_there(
    database: Database, chain: list[Document], index: int
) -> None:
    original = chain[index]
    await database[Collections.AUDIT_LOG].delete_one({"_id": original["_id"]})
    try:
        report = await verify(database)
    finally:
        await put_back(database, original)

    assert report.first_break is not None
    assert (report.first_break.seq, report.sealed) == (index + 1, index)
    assert "missing" in report.first_break.reason


@EXAMPLES
@given(pair=st.lists(st.integers(min_value=0, max_value=CHAIN - 1), min_size=2, max_size=2, unique=True))
async def test_reordering_any_two_records_breaks_the_chain_at_the_first_of_them(
    database: Database, chain: list[Document], pair: list[int]
) -> None:
    first, second = sorted(pair)
    swapped = [
        {**chain[first], "seq": chain[second]["seq"]},
        {**chain[second], "seq": chain[first]["seq"]},
    ]
    await database[Collections.AUDIT_LOG].delete_many({"_id": {"$in": [d["_id"] for d in swapped]}})
    await database[Collections.AUDIT_LOG].insert_many(swapped)
    try:
        report = await verify(database)
    finally:
        await put_back(database, chain[first], chain[second])

    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.record_id) == (first + 1, chain[second]["_id"])
    assert report.sealed == first
