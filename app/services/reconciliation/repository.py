"""Reconciliation's collections: `reconciliation_runs` (one document per run: its window, counts
and duration), `discrepancies` (one document per difference, whichever runs found it, moved
through its review by compare-and-set; at most one balance drift standing per currency, which
MongoDB keeps) and `reconciliation_marks` (the Stripe objects a run has
seen, so its pass over our records knows which ones it already compared; removed when the run
ends, and expired by a TTL index if it never does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError
from pymongo.results import UpdateResult

from app.db import DUPLICATE_KEY, Collections, Database, Document
from app.domain.reconciliation import (
    DRIFT,
    STANDING,
    Difference,
    DiscrepancyStatus,
    Resolution,
    RunStatus,
    RunTrigger,
    StandingDrift,
    Window,
    list_key,
)
from app.errors import UnknownCursor

T = TypeVar("T")
LIST_KEY = "list_key"
# A mark outlives any run; the TTL removes the marks of a run whose process died.
MARK_LIFETIME = timedelta(days=2)

INDEXES: dict[str, list[IndexModel]] = {
    Collections.RECONCILIATION_RUNS: [
        IndexModel([(LIST_KEY, DESCENDING)]),
        # The last successful run (of a trigger): the daily job, the overview, the metrics.
        IndexModel([("status", ASCENDING), ("trigger", ASCENDING), ("window_end", DESCENDING)]),
        IndexModel([("status", ASCENDING), ("finished_at", DESCENDING)]),
    ],
    Collections.DISCREPANCIES: [
        IndexModel([(LIST_KEY, DESCENDING)]),
        # The review list by status; what the discrepancies standing explain per currency, and
        # the drift standing in a currency.
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), ("currency", ASCENDING)]),
        # One drift standing per currency, whichever runs settle it at once. `standing` mirrors
        # the status (open or acknowledged) where a partial index can read it.
        IndexModel(
            [("currency", ASCENDING)],
            unique=True,
            partialFilterExpression={"kind": DRIFT, "standing": True},
            name="one_standing_drift_per_currency",
        ),
    ],
    Collections.RECONCILIATION_MARKS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
}


@dataclass(frozen=True, slots=True)
class MatchCounts:
    """What one matcher compared in a run."""

    stripe_objects: int = 0
    our_records: int = 0
    matched: int = 0
    differences: int = 0


@dataclass(frozen=True, slots=True)
class ReconciliationRun:
    id: str
    window: Window
    trigger: RunTrigger
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None
    counts: Mapping[str, MatchCounts] = field(default_factory=dict)
    new_discrepancies: int = 0
    known_discrepancies: int = 0
    superseded_discrepancies: int = 0
    error: str | None = None

    @property
    def window_start(self) -> datetime:
        return self.window.start

    @property
    def window_end(self) -> datetime:
        return self.window.end


@dataclass(frozen=True, slots=True)
class DiscrepancyResolution:
    resolution: Resolution
    note: str
    by: str
    at: datetime
    adjustment_entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class Supersession:
    """Why a drift stopped standing: the run that measured the balance gap otherwise."""

    run_id: str
    at: datetime
    # What that run found unexplained in the currency, and the drift it opened for it (if not 0).
    unexplained: int
    replaced_by: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Discrepancy:
    id: str
    kind: str
    status: DiscrepancyStatus
    currency: str
    expected: int | None
    actual: int | None
    balance_effect: int
    summary: str
    stripe_ids: dict[str, str]
    our_ids: dict[str, str]
    first_run_id: str
    last_run_id: str
    times_found: int
    first_found_at: datetime
    last_found_at: datetime
    resolution: DiscrepancyResolution | None = None
    superseded: Supersession | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording differences did: new discrepancies, ones already known, and drifts
    superseded."""

    new: int
    known: int
    superseded: int = 0

    def __add__(self, other: Recorded) -> Recorded:
        return Recorded(self.new + other.new, self.known + other.known, self.superseded + other.superseded)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool


class ReconciliationRepository:
    def __init__(self, database: Database) -> None:
        self._runs = database[Collections.RECONCILIATION_RUNS]
        self._discrepancies = database[Collections.DISCREPANCIES]
        self._marks = database[Collections.RECONCILIATION_MARKS]

    # Runs

    async def start_run(self, window: Window, trigger: RunTrigger, now: datetime) -> ReconciliationRun:
        run = ReconciliationRun(
            id=f"rr_{uuid.uuid4().hex[:24]}",
            window=window,
            trigger=trigger,
            status=RunStatus.RUNNING,
            started_at=now,
        )
        await self._runs.insert_one(
            {
                "_id": run.id,
                "window_start": window.start,
                "window_end": window.end,
                "trigger": str(trigger),
                "status": str(RunStatus.RUNNING),
                "started_at": now,
                LIST_KEY: list_key(now, run.id),
            }
        )
        return run

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        now: datetime,
        duration_ms: int,
        counts: Mapping[str, MatchCounts],
        recorded: Recorded,
        error: str | None = None,
    ) -> ReconciliationRun:
        """Close a running run; only a running one moves (compare-and-set)."""
        document = await self._runs.find_one_and_update(
            {"_id": run_id, "status": str(RunStatus.RUNNING)},
            {
                "$set": {
                    "status": str(status),
                    "finished_at": now,
                    "duration_ms": duration_ms,
                    "counts": {name: _counts_document(c) for name, c in counts.items()},
                    "new_discrepancies": recorded.new,
                    "known_discrepancies": recorded.known,
                    "superseded_discrepancies": recorded.superseded,
                    "error": error,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            raise LookupError(f"reconciliation run {run_id} is not running")
        return _run(document)

    async def last_succeeded(self, trigger: RunTrigger | None = None) -> ReconciliationRun | None:
        """The successful run that finished last, or (of a trigger) whose window ends latest."""
        if trigger is None:
            query: dict[str, Any] = {"status": str(RunStatus.SUCCEEDED)}
            order = "finished_at"
        else:
            query = {"status": str(RunStatus.SUCCEEDED), "trigger": str(trigger)}
            order = "window_end"
        document = await self._runs.find_one(query, sort=[(order, DESCENDING)])
        return _run(document) if document else None

    async def latest_run(self) -> ReconciliationRun | None:
        document = await self._runs.find_one({}, sort=[(LIST_KEY, DESCENDING)])
        return _run(document) if document else None

    async def runs_page(self, limit: int, starting_after: str | None) -> Page[ReconciliationRun]:
        query = await self._after(self._runs, starting_after, {})
        documents = await self._runs.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return Page([_run(d) for d in documents[:limit]], has_more=len(documents) > limit)

    # Discrepancies

    async def record(
        self,
        run_id: str,
        differences: Sequence[Difference],
        now: datetime,
        session: AsyncClientSession | None = None,
    ) -> Recorded:
        """Record each difference once: a new one opens a discrepancy, one already recorded (by
        this run or an earlier one, whatever its status) only notes that this run found it too."""
        if not differences:
            return Recorded(0, 0)
        writes = [UpdateOne({"_id": d.key}, _found(d, run_id, now), upsert=True) for d in differences]
        result = await self._discrepancies.bulk_write(writes, ordered=False, session=session)
        return Recorded(new=result.upserted_count, known=len(writes) - result.upserted_count)

    async def explained_effect(self, currency: str) -> int:
        """What the specific discrepancies standing (every kind but the drift, which is what they
        leave unexplained) explain of the gap between the platform's balance and the ledger."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": {"$in": _standing()}, "currency": currency, "kind": {"$ne": DRIFT}}},
            {"$group": {"_id": None, "total": {"$sum": "$balance_effect"}}},
        ]
        async for row in await self._discrepancies.aggregate(pipeline):
            return int(row["total"])
        return 0

    async def standing_drifts(self, session: AsyncClientSession, currency: str) -> list[StandingDrift]:
        """The drift standing in `currency`: one, or several recorded before only one could stand."""
        query = {"status": {"$in": _standing()}, "currency": currency, "kind": DRIFT}
        cursor = self._discrepancies.find(query, {"balance_effect": True}, session=session)
        return [StandingDrift(d["_id"], d["balance_effect"]) async for d in cursor]

    async def found_again(
        self, session: AsyncClientSession, discrepancy_id: str, run_id: str, now: datetime
    ) -> bool:
        """Note that this run found the standing discrepancy again; False if it stands no more."""
        result: UpdateResult = await self._discrepancies.update_one(
            {"_id": discrepancy_id, "status": {"$in": _standing()}},
            {"$set": {"last_run_id": run_id, "last_found_at": now}, "$inc": {"times_found": 1}},
            session=session,
        )
        return result.matched_count == 1

    async def supersede(
        self, session: AsyncClientSession, discrepancy_id: str, supersession: Supersession
    ) -> Discrepancy | None:
        """Close a standing drift a later run measured otherwise; the drift as it was before, or
        None when it stands no more (an admin adjusted it meanwhile)."""
        document = await self._discrepancies.find_one_and_update(
            {"_id": discrepancy_id, "kind": DRIFT, "status": {"$in": _standing()}},
            {
                "$set": {
                    "status": str(DiscrepancyStatus.SUPERSEDED),
                    "standing": False,
                    "superseded": {
                        "run_id": supersession.run_id,
                        "at": supersession.at,
                        "unexplained": supersession.unexplained,
                        "replaced_by": supersession.replaced_by,
                        "reason": supersession.reason,
                    },
                }
            },
            session=session,
        )
        return _discrepancy(document) if document else None

    async def count(self, status: DiscrepancyStatus) -> int:
        return await self._discrepancies.count_documents({"status": str(status)})

    async def get(self, discrepancy_id: str, session: AsyncClientSession | None = None) -> Discrepancy | None:
        document = await self._discrepancies.find_one({"_id": discrepancy_id}, session=session)
        return _discrepancy(document) if document else None

    async def discrepancies_page(
        self, status: DiscrepancyStatus | None, limit: int, starting_after: str | None
    ) -> Page[Discrepancy]:
        where: dict[str, Any] = {} if status is None else {"status": str(status)}
        query = await self._after(self._discrepancies, starting_after, where)
        cursor = self._discrepancies.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return Page([_discrepancy(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def resolve(
        self, session: AsyncClientSession, discrepancy_id: str, resolution: DiscrepancyResolution
    ) -> Discrepancy | None:
        """Move the discrepancy to the resolution's status if it may go there from where it is;
        the discrepancy as it was before, or None when it did not move."""
        # Acknowledged, a discrepancy stands as it did (open): its `standing` is left as it is, so
        # a drift recorded before only one could stand does not meet the unique index.
        still_standing = resolution.resolution.status in STANDING
        document = await self._discrepancies.find_one_and_update(
            {
                "_id": discrepancy_id,
                "status": {"$in": [str(s) for s in resolution.resolution.resolvable_from]},
            },
            {
                "$set": {
                    "status": str(resolution.resolution.status),
                    **({} if still_standing else {"standing": False}),
                    "resolution": {
                        "resolution": str(resolution.resolution),
                        "note": resolution.note,
                        "by": resolution.by,
                        "at": resolution.at,
                        "adjustment_entry_id": resolution.adjustment_entry_id,
                    },
                }
            },
            session=session,
        )
        return _discrepancy(document) if document else None

    # Marks: the Stripe objects this run has seen

    async def mark(self, run_id: str, namespace: str, ids: Iterable[str], now: datetime) -> None:
        documents = [{"_id": _mark_id(run_id, namespace, i), "expires_at": now + MARK_LIFETIME} for i in ids]
        if not documents:
            return
        try:
            await self._marks.insert_many(documents, ordered=False)
        except BulkWriteError as exc:  # seen twice (an object on two pages while Stripe added more)
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
                raise

    async def marked(self, run_id: str, namespace: str, ids: Iterable[str]) -> set[str]:
        wanted = {_mark_id(run_id, namespace, i): i for i in ids}
        cursor = self._marks.find({"_id": {"$in": list(wanted)}}, {"_id": True})
        return {wanted[document["_id"]] async for document in cursor}

    async def clear_marks(self, run_id: str) -> None:
        # Every mark of a run shares the prefix `{run}|`, and `}` sorts right after `|`.
        await self._marks.delete_many({"_id": {"$gte": f"{run_id}|", "$lt": f"{run_id}}}"}})

    async def _after(
        self, collection: Any, starting_after: str | None, query: dict[str, Any]
    ) -> dict[str, Any]:
        if starting_after is None:
            return query
        anchor = await collection.find_one({"_id": starting_after, **query}, {LIST_KEY: True})
        if anchor is None:
            raise UnknownCursor(f"starting_after: {starting_after} is not in this list")
        return {**query, LIST_KEY: {"$lt": anchor[LIST_KEY]}}


def _standing() -> list[str]:
    return [str(status) for status in STANDING]


def _mark_id(run_id: str, namespace: str, object_id: str) -> str:
    return f"{run_id}|{namespace}|{object_id}"


def _found(difference: Difference, run_id: str, now: datetime) -> Document:
    key = difference.key
    return {
        "$setOnInsert": {
            "kind": difference.kind,
            "status": str(DiscrepancyStatus.OPEN),
            "standing": True,
            "currency": difference.currency,
            "expected": difference.expected,
            "actual": difference.actual,
            "balance_effect": difference.balance_effect,
            "summary": difference.summary,
            "stripe_ids": dict(difference.stripe_ids),
            "our_ids": dict(difference.our_ids),
            "first_run_id": run_id,
            "first_found_at": now,
            LIST_KEY: list_key(now, key),
        },
        "$set": {"last_run_id": run_id, "last_found_at": now},
        "$inc": {"times_found": 1},
    }


def _counts_document(counts: MatchCounts) -> Document:
    return {
        "stripe_objects": counts.stripe_objects,
        "our_records": counts.our_records,
        "matched": counts.matched,
        "differences": counts.differences,
    }


def _run(document: Document) -> ReconciliationRun:
    return ReconciliationRun(
        id=document["_id"],
        window=Window(document["window_start"].astimezone(UTC), document["window_end"].astimezone(UTC)),
        trigger=RunTrigger(document["trigger"]),
        status=RunStatus(document["status"]),
        started_at=document["started_at"],
        finished_at=document.get("finished_at"),
        duration_ms=document.get("duration_ms"),
        counts={name: MatchCounts(**c) for name, c in (document.get("counts") or {}).items()},
        new_discrepancies=document.get("new_discrepancies", 0),
        known_discrepancies=document.get("known_discrepancies", 0),
        superseded_discrepancies=document.get("superseded_discrepancies", 0),
        error=document.get("error"),
    )


def _discrepancy(document: Document) -> Discrepancy:
    resolved = document.get("resolution")
    superseded = document.get("superseded")
    return Discrepancy(
        id=document["_id"],
        kind=document["kind"],
        status=DiscrepancyStatus(document["status"]),
        currency=document["currency"],
        expected=document["expected"],
        actual=document["actual"],
        balance_effect=document["balance_effect"],
        summary=document["summary"],
        stripe_ids=document["stripe_ids"],
        our_ids=document["our_ids"],
        first_run_id=document["first_run_id"],
        last_run_id=document["last_run_id"],
        times_found=document["times_found"],
        first_found_at=document["first_found_at"],
        last_found_at=document["last_found_at"],
        resolution=DiscrepancyResolution(
            resolution=Resolution(resolved["resolution"]),
            note=resolved["note"],
            by=resolved["by"],
            at=resolved["at"],
            adjustment_entry_id=resolved.get("adjustment_entry_id"),
        )
        if resolved
        else None,
        superseded=Supersession(**superseded) if superseded else None,
    )
