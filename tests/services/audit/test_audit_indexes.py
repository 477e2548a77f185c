"""Every way the audit log is read is served by an index, never by a collection scan."""

from typing import Any

import pytest

from app.db import Collections, Database
from app.services.audit import AuditFilter, AuditLog, AuditSealer
from app.services.audit.repository import BY_ID
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
    """The query `AuditRepository.find_page` sends for a later page, with its hint."""
    audit = AuditLog(database)
    for index in range(3):
        await record_change(database, audit, f"o{index}")
    await AuditSealer(database, "sealer").seal_pending()
    query = {**where.as_query(), "_id": {"$lt": "aud_9"}}

    cursor = database[Collections.AUDIT_LOG].find(query, hint=where.index())
    explained = await cursor.sort("_id", -1).limit(21).explain()

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan
    assert "COLLSCAN" not in plan


@pytest.mark.parametrize(
    ("collection", "query", "order", "hint"),
    [
        (Collections.AUDIT_LOG, {"seq": {"$gte": 0}}, "seq", None),
        (Collections.AUDIT_PENDING, {}, "_id", BY_ID),
    ],
)
async def test_the_verifier_and_the_sealer_walk_an_index(
    database: Database, collection: str, query: dict[str, Any], order: str, hint: list[tuple[str, int]] | None
) -> None:
    """The verifier's walk by seq; the sealer's queue by `_id`, each as the repository asks."""
    audit = AuditLog(database)
    await record_change(database, audit, "o1")
    await AuditSealer(database, "sealer").seal_pending()
    await record_change(database, audit, "o2")

    cursor = database[collection].find(query, hint=hint) if hint else database[collection].find(query)
    explained = await cursor.sort(order, 1).explain()

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan
    assert "COLLSCAN" not in plan
    assert "SORT" not in plan  # the index gives the order: nothing is held in memory
