"""Every way the audit log is read is served by an index, never by a collection scan."""

from typing import Any

import pytest

from app.db import Collections, Database
from app.services.audit import AuditFilter, AuditLog
from tests.services.audit.support import TEST_ACTION, record_change


def stages(plan: dict[str, Any]) -> list[str]:
    found = [plan["stage"]]
    for child in [plan.get("inputStage"), *plan.get("inputStages", [])]:
        if child:
            found += stages(child)
    return found


@pytest.mark.parametrize(
    "where",
    [
        AuditFilter(),
        AuditFilter(actor_id="alice"),
        AuditFilter(object_type="test_object"),
        AuditFilter(object_type="test_object", object_id="o1"),
        AuditFilter(object_id="o1"),
        AuditFilter(action=TEST_ACTION),
        AuditFilter(actor_id="alice", object_type="test_object", object_id="o1", action=TEST_ACTION),
    ],
)
async def test_each_admin_filter_is_served_by_an_index(database: Database, where: AuditFilter) -> None:
    audit = AuditLog(database)
    for index in range(3):
        await record_change(database, audit, f"o{index}")
    query = {**where.as_query(), "list_key": {"$lt": "9"}}  # as a later page asks

    cursor = database[Collections.AUDIT_LOG].find(query, hint=where.index())
    explained = await cursor.sort("list_key", -1).limit(21).explain()

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan
    assert "COLLSCAN" not in plan


@pytest.mark.parametrize(
    ("query", "order"),
    [({"seq": {"$gte": 0}}, "seq"), ({"pending": {"$exists": True}}, "pending")],
)
async def test_the_verifier_and_the_sealer_walk_an_index(
    database: Database, query: dict[str, Any], order: str
) -> None:
    await record_change(database, AuditLog(database), "o1")

    explained = await database[Collections.AUDIT_LOG].find(query).sort(order, 1).explain()

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan
    assert "COLLSCAN" not in plan
    assert "SORT" not in plan  # the index gives the order: nothing is held in memory
