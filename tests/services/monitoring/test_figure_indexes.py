"""The overview's counts and the lists they link to are read through an index, never a scan."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import Collections, Database
from app.services.migration.run_repository import BY_ID
from tests.services.audit.test_audit_indexes import stages

LIST_KEY = "list_key"


@pytest.mark.parametrize(
    ("collection", "query"),
    [
        (Collections.DISPUTES, {"kind": "buyer", "open": True}),
        (Collections.DISPUTES, {"kind": "chargeback", "open": True}),
        (Collections.DISPUTES, {"open": False}),
        (Collections.SELLER_TRANSFERS, {"status": "failed"}),
        (Collections.REFUNDS, {"status": "failed"}),
    ],
)
async def test_each_count_and_its_list_walk_an_index(
    database: Database, collection: str, query: dict[str, Any]
) -> None:
    for cursor in (
        database[collection].find(query),  # what the count reads
        database[collection].find(query).sort(LIST_KEY, -1).limit(21),  # the list behind it
    ):
        plan = stages((await cursor.explain())["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in plan
        assert "COLLSCAN" not in plan


async def test_the_last_migration_run_is_read_from_the_id_index(database: Database) -> None:
    runs = database[Collections.LEGACY_MIGRATION_RUNS]
    explained = await runs.find({}, hint=BY_ID).sort("_id", -1).limit(1).explain()

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan
    assert "COLLSCAN" not in plan
    assert "SORT" not in plan
