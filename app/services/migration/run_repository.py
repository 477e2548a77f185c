"""The bulk migration's runs: `legacy_migration_runs` (one document per run: its options, the
snapshot of the legacy data it started from, its result, its integrity checks and rollback),
`legacy_migration_batches` (one per committed batch, written in the batch's transaction: what
it did, and where the run resumes) and `legacy_migration_rejections` (every wallet a run did not
migrate, with its reason).

A run id is `mig_`, the start time (UTC, to the millisecond) and random hex: ids sort by time,
which orders the admin list and is its cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document, duplicates_raised
from app.domain.migration import Progress, RejectionReason, Snapshot, Tally, progress_of
from app.errors import NotFound, UnknownCursor

BY_ID = [("_id", ASCENDING)]

INDEXES: dict[str, list[IndexModel]] = {
    Collections.LEGACY_MIGRATION_BATCHES: [IndexModel([("run_id", ASCENDING), ("seq", DESCENDING)])],
    Collections.LEGACY_MIGRATION_REJECTIONS: [IndexModel([("run_id", ASCENDING), ("_id", ASCENDING)])],
}


class RunStatus(StrEnum):
    RUNNING = "running"
    # Stopped by an error; `--resume` continues it from its last committed batch.
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"


class RunChanged(RuntimeError):
    """The run moved under this process (another resumed or rolled it back)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A legacy wallet a run did not migrate, and why."""

    legacy_id: str
    user_id: str | None
    raw_user_id: str
    reason: RejectionReason
    detail: str
    balance: str
    currency: str


@dataclass(frozen=True, slots=True)
class RollbackSummary:
    at: datetime
    rolled_back: int
    left: int


@dataclass(frozen=True, slots=True)
class MigrationRun:
    id: str
    status: RunStatus
    actor: str
    started_at: datetime
    updated_at: datetime
    batch_size: int
    snapshot: Snapshot
    # The users a run was limited to (`--only-users`), if it was.
    users: tuple[str, ...] | None = None
    tally: Tally = field(default_factory=Tally)
    # Counts so far, by outcome, while the run goes (the tally has them all once it completes).
    progress: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    finished_at: datetime | None = None
    integrity_ok: bool | None = None
    integrity: tuple[dict[str, Any], ...] = ()
    rollback: RollbackSummary | None = None

    @property
    def counts(self) -> dict[str, int]:
        """By outcome: the tally's once the run completed, those so far before."""
        return dict(self.tally.counts) if self.tally.counts else self.progress

    @property
    def wallets_progress(self) -> Progress:
        return progress_of(self.snapshot.count, self.counts)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a run resumes: after its last committed batch."""

    seq: int
    last_id: Any


@dataclass(frozen=True, slots=True)
class RunPage:
    data: list[MigrationRun]
    has_more: bool


@dataclass(frozen=True, slots=True)
class RejectionPage:
    data: list[Rejection]
    has_more: bool


def new_run_id(at: datetime) -> str:
    return f"mig_{at:%Y%m%dT%H%M%S}{at.microsecond // 1000:03d}Z{uuid.uuid4().hex[:8]}"


class RunRepository:
    def __init__(self, database: Database) -> None:
        self._runs = database[Collections.LEGACY_MIGRATION_RUNS]
        self._batches = database[Collections.LEGACY_MIGRATION_BATCHES]
        self._rejections = database[Collections.LEGACY_MIGRATION_REJECTIONS]

    async def create(self, session: AsyncClientSession, run: MigrationRun) -> None:
        await self._runs.insert_one(_run_document(run), session=session)

    async def get(self, run_id: str, session: AsyncClientSession | None = None) -> MigrationRun:
        document = await self._runs.find_one({"_id": run_id}, session=session)
        if document is None:
            raise NotFound(f"no migration run {run_id}")
        return _run(document)

    async def latest(self) -> MigrationRun | None:
        # Hinted: without a filter a planner may prefer a scan and a sort to walking `_id` back.
        document = await self._runs.find_one({}, sort=[("_id", DESCENDING)], hint=BY_ID)
        return _run(document) if document else None

    async def page(self, limit: int, starting_after: str | None) -> RunPage:
        """Runs, newest first."""
        query: dict[str, Any] = {}
        if starting_after is not None:
            if not await self._runs.find_one({"_id": starting_after}, {"_id": True}):
                raise UnknownCursor(f"starting_after: no migration run {starting_after}")
            query["_id"] = {"$lt": starting_after}
        cursor = self._runs.find(query).sort("_id", DESCENDING).limit(limit + 1)
        documents = await cursor.to_list()
        return RunPage([_run(document) for document in documents[:limit]], len(documents) > limit)

    async def move(
        self,
        session: AsyncClientSession,
        run_id: str,
        sources: Sequence[RunStatus],
        target: RunStatus,
        now: datetime,
        **fields: Any,
    ) -> None:
        """Compare-and-set of a run's status from one of `sources` to `target`, with `fields`."""
        moved = await self._runs.update_one(
            {"_id": run_id, "status": {"$in": [source.value for source in sources]}},
            {"$set": {"status": target.value, "updated_at": now, **fields}},
            session=session,
        )
        if moved.matched_count != 1:
            raise RunChanged(f"migration run {run_id} is no longer {', '.join(sources)}")

    async def add_batch(
        self,
        session: AsyncClientSession,
        run_id: str,
        checkpoint: Checkpoint,
        tally: Tally,
        rejections: Sequence[Rejection],
        now: datetime,
    ) -> None:
        """Record a batch in its own transaction: what it did, where the run resumes, its rejections,
        and the run's progress (only while it is running). A batch recorded twice (two processes
        on one run) raises DuplicateKeyError."""
        progressed = await self._runs.update_one(
            {"_id": run_id, "status": RunStatus.RUNNING.value},
            {
                "$inc": {"batches": 1, **{f"progress.{name}": count for name, count in tally.counts.items()}},
                "$set": {"updated_at": now},
            },
            session=session,
        )
        if progressed.matched_count != 1:
            raise RunChanged(f"migration run {run_id} is no longer running")
        await self._batches.insert_one(
            {
                "_id": f"{run_id}:{checkpoint.seq:07d}",
                "run_id": run_id,
                "seq": checkpoint.seq,
                "last_id": checkpoint.last_id,
                "tally": tally.as_document(),
                "at": now,
            },
            session=session,
        )
        if rejections:
            with duplicates_raised():
                await self._rejections.insert_many(
                    [_rejection_document(run_id, rejection, now) for rejection in rejections], session=session
                )

    async def checkpoint(self, run_id: str) -> Checkpoint | None:
        document = await self._batches.find_one(
            {"run_id": run_id},
            {"seq": True, "last_id": True},
            sort=[("run_id", ASCENDING), ("seq", DESCENDING)],
        )
        return Checkpoint(document["seq"], document["last_id"]) if document else None

    async def tally(self, run_id: str) -> tuple[Tally, int]:
        """What a run's committed batches did, summed, and how many batches there are."""
        total, batches = Tally(), 0
        async for document in self._batches.find({"run_id": run_id}, {"tally": True}):
            total.merge(Tally.from_document(document["tally"]))
            batches += 1
        return total, batches

    async def rejections(self, run_id: str, limit: int, starting_after: str | None) -> RejectionPage:
        query: dict[str, Any] = {"run_id": run_id}
        if starting_after is not None:
            if not await self._rejections.find_one({"_id": f"{run_id}:{starting_after}"}, {"_id": True}):
                raise UnknownCursor(f"starting_after: no rejected wallet {starting_after} in this run")
            query["_id"] = {"$gt": f"{run_id}:{starting_after}"}
        cursor = (
            self._rejections.find(query).sort([("run_id", ASCENDING), ("_id", ASCENDING)]).limit(limit + 1)
        )
        documents = await cursor.to_list()
        return RejectionPage([_rejection(document) for document in documents[:limit]], len(documents) > limit)

    async def all_rejections(self, run_id: str) -> AsyncIterator[Rejection]:
        cursor = self._rejections.find({"run_id": run_id}).sort([("run_id", ASCENDING), ("_id", ASCENDING)])
        async for document in cursor:
            yield _rejection(document)


def _run_document(run: MigrationRun) -> Document:
    return {
        "_id": run.id,
        "status": run.status.value,
        "actor": run.actor,
        "started_at": run.started_at,
        "updated_at": run.updated_at,
        "batch_size": run.batch_size,
        "users": list(run.users) if run.users is not None else None,
        "snapshot": run.snapshot.as_document(),
        "progress": {},
        "batches": 0,
    }


def _run(document: Document) -> MigrationRun:
    rollback = document.get("rollback")
    return MigrationRun(
        id=document["_id"],
        status=RunStatus(document["status"]),
        actor=document["actor"],
        started_at=document["started_at"],
        updated_at=document["updated_at"],
        batch_size=document["batch_size"],
        snapshot=Snapshot.from_document(document["snapshot"]),
        users=tuple(document["users"]) if document.get("users") is not None else None,
        tally=Tally.from_document(document["tally"]) if document.get("tally") else Tally(),
        progress=dict(document.get("progress") or {}),
        batches=document.get("batches", 0),
        finished_at=document.get("finished_at"),
        integrity_ok=document.get("integrity_ok"),
        integrity=tuple(document.get("integrity") or ()),
        rollback=RollbackSummary(**rollback) if rollback else None,
    )


def _rejection_document(run_id: str, rejection: Rejection, now: datetime) -> Document:
    return {
        "_id": f"{run_id}:{rejection.legacy_id}",
        "run_id": run_id,
        "legacy_id": rejection.legacy_id,
        "user_id": rejection.user_id,
        "raw_user_id": rejection.raw_user_id,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
        "balance": rejection.balance,
        "currency": rejection.currency,
        "at": now,
    }


def _rejection(document: Document) -> Rejection:
    return Rejection(
        legacy_id=document["legacy_id"],
        user_id=document["user_id"],
        raw_user_id=document["raw_user_id"],
        reason=RejectionReason(document["reason"]),
        detail=document["detail"],
        balance=document["balance"],
        currency=document["currency"],
    )
