"""Running a reconciliation: every registered matcher over one window, in order, each difference
recorded once as a discrepancy, each reading of the platform's balance settling the drift standing
in its currency (`drift.py`), and the run recorded with its window, counts and duration.

A run reads Stripe and the ledger and writes only its own records (the run, the discrepancies,
its marks, removed at its end, and the audit record of a drift it supersedes): nothing is
corrected without an admin (`review.py`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog

from app.domain.reconciliation import DRIFT, BalanceReading, Difference, RunStatus, RunTrigger, Window
from app.services.reconciliation import metrics
from app.services.reconciliation.drift import BalanceDrifts
from app.services.reconciliation.matching import (
    BATCH,
    Finding,
    MatchContext,
    Matcher,
    SeenMarks,
    Tally,
    batches,
)
from app.services.reconciliation.repository import (
    MatchCounts,
    ReconciliationRepository,
    ReconciliationRun,
    Recorded,
)

log = structlog.get_logger(__name__)

KeepGoing = Callable[[], Awaitable[bool]]


class ReconciliationStopped(RuntimeError):
    """The run lost its lease (another runner took over) and stopped between two matchers."""


class Reconciliation:
    def __init__(
        self, repository: ReconciliationRepository, drifts: BalanceDrifts, matchers: Sequence[Matcher]
    ) -> None:
        names = [matcher.name for matcher in matchers]
        if len(set(names)) != len(names):
            raise ValueError(f"two reconciliation matchers share a name: {names}")
        self._repository = repository
        self._drifts = drifts
        self._matchers = tuple(matchers)

    @property
    def matcher_names(self) -> tuple[str, ...]:
        return tuple(matcher.name for matcher in self._matchers)

    async def last_succeeded(self, trigger: RunTrigger) -> ReconciliationRun | None:
        """The successful run of `trigger` whose window ends latest."""
        return await self._repository.last_succeeded(trigger)

    async def run(
        self, window: Window, trigger: RunTrigger, keep_going: KeepGoing | None = None
    ) -> ReconciliationRun:
        """Reconcile `window`: the run as it ended. `keep_going` (a lease renewal) is asked
        between matchers; False stops the run, which is then recorded as failed."""
        run = await self._repository.start_run(window, trigger, datetime.now(UTC))
        log.info("reconciliation_started", run_id=run.id, window_start=window.start, window_end=window.end)
        started = time.perf_counter()
        counts: dict[str, MatchCounts] = {}
        recorded = Recorded(0, 0)
        context = MatchContext(
            run.id, window, SeenMarks(self._repository, run.id), self._repository.explained_effect
        )
        try:
            for matcher in self._matchers:
                counts[matcher.name], found = await self._match(matcher, context)
                recorded += found
                if keep_going is not None and not await keep_going():
                    raise ReconciliationStopped(f"run {run.id} lost its lease after {matcher.name}")
        except Exception as exc:
            finished = await self._finish(
                run.id, RunStatus.FAILED, started, counts, recorded, error=repr(exc)
            )
            log.exception("reconciliation_failed", run_id=run.id)
            raise ReconciliationFailed(finished) from exc
        finally:
            await self._repository.clear_marks(run.id)
        finished = await self._finish(run.id, RunStatus.SUCCEEDED, started, counts, recorded)
        log.info(
            "reconciliation_finished",
            run_id=run.id,
            new_discrepancies=recorded.new,
            known_discrepancies=recorded.known,
            superseded_discrepancies=recorded.superseded,
            duration_ms=finished.duration_ms,
        )
        return finished

    async def _match(self, matcher: Matcher, context: MatchContext) -> tuple[MatchCounts, Recorded]:
        """Run one matcher, recording its differences a batch at a time as they come, and settling
        the drift of each reading of the balance."""
        tally = Tally()
        recorded, found = Recorded(0, 0), 0
        async for findings in batches(_logged(matcher.differences(context, tally), matcher.name), BATCH):
            differences = [finding for finding in findings if isinstance(finding, Difference)]
            recorded += await self._repository.record(context.run_id, differences, datetime.now(UTC))
            found += len(differences)
            for reading in (finding for finding in findings if isinstance(finding, BalanceReading)):
                recorded += await self._drifts.settle(context.run_id, reading, datetime.now(UTC))
                found += 1 if reading.unexplained else 0
        counts = MatchCounts(tally.stripe_objects, tally.our_records, tally.matched, found)
        return counts, recorded

    async def _finish(
        self,
        run_id: str,
        status: RunStatus,
        started: float,
        counts: dict[str, MatchCounts],
        recorded: Recorded,
        error: str | None = None,
    ) -> ReconciliationRun:
        duration_ms = round((time.perf_counter() - started) * 1000)
        finished = await self._repository.finish_run(
            run_id, status, datetime.now(UTC), duration_ms, counts, recorded, error
        )
        metrics.RUNS.labels(str(status)).inc()
        return finished


class ReconciliationFailed(RuntimeError):
    """A run that stopped on an error; the run is recorded as failed, with the error."""

    def __init__(self, run: ReconciliationRun) -> None:
        super().__init__(f"reconciliation run {run.id} failed: {run.error}")
        self.run = run


async def _logged(findings: AsyncIterator[Finding], matcher: str) -> AsyncIterator[Finding]:
    async for finding in findings:
        if isinstance(finding, BalanceReading):
            _log_reading(finding, matcher)
        else:
            _log_difference(finding, matcher)
        yield finding


def _log_difference(difference: Difference, matcher: str) -> None:
    metrics.DIFFERENCES_FOUND.labels(difference.kind).inc()
    log.warning(
        "reconciliation_difference",
        matcher=matcher,
        kind=difference.kind,
        discrepancy_id=difference.key,
        currency=difference.currency,
        expected=difference.expected,
        actual=difference.actual,
        **{f"stripe_{name}": value for name, value in difference.stripe_ids.items()},
    )


def _log_reading(reading: BalanceReading, matcher: str) -> None:
    if reading.unexplained == 0:
        return
    metrics.DIFFERENCES_FOUND.labels(DRIFT).inc()
    log.warning(
        "reconciliation_difference",
        matcher=matcher,
        kind=DRIFT,
        currency=reading.currency,
        expected=reading.predicted + reading.explained,
        actual=reading.at_stripe,
        unexplained=reading.unexplained,
    )
