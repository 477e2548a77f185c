"""What a matcher is, and what a run hands each one.

A matcher compares one kind of Stripe record with our records over the run's window and yields
each difference it finds (the platform balance check, its readings of the whole balance). It
reads Stripe only through the adapter's iterators (one page in memory at a time) and our records
a page at a time, and writes nothing but the run's marks: a run is read-only towards Stripe and
the ledger. Matchers are registered, in order, in the composition root
(`app.container.reconciliation_matchers`); CONVENTIONS.md says how a domain adds its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from app.adapters.stripe_errors import PaymentProviderError
from app.domain.reconciliation import BalanceReading, Difference, Window
from app.services.reconciliation.repository import ReconciliationRepository

T = TypeVar("T")
# Stripe objects (and our records) compared at once: a Stripe page, and one `$in` read of ours.
BATCH = 100
# What a matcher yields: a difference, recorded once; or a reading of the platform's balance, which
# settles the drift standing in its currency.
Finding = Difference | BalanceReading


@dataclass
class Tally:
    """What a matcher counts as it goes; stored on the run."""

    stripe_objects: int = 0
    our_records: int = 0
    matched: int = 0


class SeenMarks:
    """The Stripe objects of one namespace (`payment_intent`, `balance_transaction`) a run has
    compared, kept in MongoDB rather than in memory, so a pass over our records knows which of
    them still need their Stripe object read."""

    def __init__(self, repository: ReconciliationRepository, run_id: str) -> None:
        self._repository = repository
        self._run_id = run_id

    async def mark(self, namespace: str, ids: Iterable[str]) -> None:
        await self._repository.mark(self._run_id, namespace, ids, datetime.now(UTC))

    async def seen(self, namespace: str, ids: Iterable[str]) -> set[str]:
        return await self._repository.marked(self._run_id, namespace, ids)


@dataclass(frozen=True)
class MatchContext:
    """What a run gives every matcher."""

    run_id: str
    window: Window
    marks: SeenMarks
    # The balance effect of the specific discrepancies standing in a currency (this run's
    # included; the drift, what they leave unexplained, excluded).
    explained: Callable[[str], Awaitable[int]]


class Matcher(Protocol):
    """One check of the reconciliation."""

    @property
    def name(self) -> str: ...

    @property
    def balance_transaction_types(self) -> frozenset[str]:
        """The types of the platform's balance transactions this matcher matches with the ledger;
        a type no matcher claims is reported as unaccounted."""
        ...

    def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Finding]: ...


async def batches(items: AsyncIterator[T], size: int = BATCH) -> AsyncIterator[list[T]]:
    """`items` in lists of up to `size`, so each list costs one read of our records."""
    batch: list[T] = []
    async for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def found_or_none(read: Awaitable[T]) -> T | None:
    """The Stripe object, or None when Stripe has no such object (`resource_missing`)."""
    try:
        return await read
    except PaymentProviderError as exc:
        if exc.stripe_code == "resource_missing":
            return None
        raise
