"""Helpers for audit tests: audited changes of a test object, and the stored log in chain order."""

from __future__ import annotations

from datetime import UTC, datetime

from app.db import Collections, Database, Document
from app.domain.audit import Actor, AuditObject
from app.services.audit import AuditLog, AuditRecord

TEST_ACTION = "test_object.changed"


async def record_change(
    database: Database, audit: AuditLog, object_id: str, *, actor: Actor | None = None, step: int = 0
) -> AuditRecord:
    """One audited change in its own transaction, with a varied before and after."""
    before = {"step": step, "amount": 1000 * step, "tags": ["a", "b"], "note": "café"}
    after = {"step": step + 1, "amount": 1000 * step + 1, "at": datetime.now(UTC), "nested": {"ok": True}}
    return await database.transaction(
        lambda session: audit.record(
            session,
            actor or Actor.job("test_job"),
            TEST_ACTION,
            AuditObject("test_object", object_id),
            before=before,
            after=after,
        )
    )


async def stored_chain(database: Database) -> list[Document]:
    """Every sealed record, by seq."""
    cursor = database[Collections.AUDIT_LOG].find({"seq": {"$gte": 0}}).sort("seq", 1)
    return await cursor.to_list()


async def audit_documents(database: Database, **query: object) -> list[Document]:
    """Records matching `query`, waiting to be sealed or chained."""
    waiting = await database[Collections.AUDIT_PENDING].find(query).to_list()
    return waiting + await database[Collections.AUDIT_LOG].find(query).to_list()


async def waiting_count(database: Database) -> int:
    return await database[Collections.AUDIT_PENDING].count_documents({})
