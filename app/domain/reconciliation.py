"""Reconciliation's rules: what a difference between Stripe and our books is, the one name every
run gives the same difference, how a difference is reviewed, and how an admin's adjustment is
booked. Pure: no I/O, no clock.

A difference says what our books hold (`expected`) and what Stripe holds (`actual`) for the same
thing, and how it bears on the platform's Stripe balance (`balance_effect`: how much more Stripe
holds than the ledger predicts because of it). The platform balance check compares the whole
balance, whatever the run's window, so its drift is not one more difference but a measurement: the
part of the gap between Stripe and the ledger that no specific discrepancy standing explains, as of
the latest run (`BalanceReading`). At most one drift stands per currency; a run measuring another
amount supersedes it (`settle_drift`), so one fault is one discrepancy whichever run finds it first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.domain.ledger import EntryKind, JournalEntry, Move, entry
from app.errors import InvalidRequest, ServiceError

MAX_NOTE_LENGTH = 500
# A ledger account an admin may adjust: a known kind, then its name (`buyer:u_42:wallet`).
ACCOUNT_PATTERN = r"^(world|platform|buyer|escrow|seller):[A-Za-z0-9_.:-]{1,200}$"
_ADJUSTABLE_ACCOUNT = re.compile(ACCOUNT_PATTERN)


class DiscrepancyStatus(StrEnum):
    OPEN = "open"
    # Reviewed: the difference is real and understood, nothing is booked for it.
    ACKNOWLEDGED = "acknowledged"
    # Corrected by an admin's adjustment entry in the ledger.
    ADJUSTED = "adjusted"
    # A balance drift a later run measured otherwise (explained by now, or grown, or shrunk):
    # closed by that run, which opens the drift it measured if any is left. It closes a notice
    # and corrects no money, so nothing is corrected without an admin still.
    SUPERSEDED = "superseded"


class Resolution(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ADJUSTED = "adjusted"

    @property
    def status(self) -> DiscrepancyStatus:
        return DiscrepancyStatus(self.value)

    @property
    def resolvable_from(self) -> tuple[DiscrepancyStatus, ...]:
        """The statuses a discrepancy may be resolved this way from: an acknowledged one may still
        be adjusted, an adjusted one is final."""
        if self is Resolution.ACKNOWLEDGED:
            return (DiscrepancyStatus.OPEN,)
        return (DiscrepancyStatus.OPEN, DiscrepancyStatus.ACKNOWLEDGED)


# Differences still standing in the books: an adjusted one was corrected by its adjustment entry,
# a superseded drift replaced by a later run's measurement.
STANDING = (DiscrepancyStatus.OPEN, DiscrepancyStatus.ACKNOWLEDGED)
# The platform balance check's kind: the part of the balance gap no specific discrepancy explains.
DRIFT = "platform_balance_drift"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunTrigger(StrEnum):
    SCHEDULE = "schedule"
    COMMAND = "command"


class Flow(StrEnum):
    """Which way a difference's money goes for the platform's Stripe balance."""

    # Money in (a payment): Stripe holding more than our books say raises the balance.
    INTO_PLATFORM = "into_platform"
    # Money out (a fee, a refund, a transfer, a payout): Stripe taking more lowers it.
    OUT_OF_PLATFORM = "out_of_platform"
    # Money no check follows: whether the books hold it is not known, so it explains no drift.
    UNCHECKED = "unchecked"
    # Money on a seller's connected account (a payout to their bank): the platform's balance
    # does not hold it, so it explains no drift either.
    SELLER_ACCOUNT = "seller_account"


class DiscrepancyAlreadyResolved(ServiceError):
    code = "discrepancy_already_resolved"
    status = 409
    title = "The discrepancy was already resolved that way or further"


class InvalidAdjustment(InvalidRequest):
    code = "invalid_adjustment"
    title = "The adjustment is not valid"


@dataclass(frozen=True, slots=True)
class Window:
    """Stripe objects created, and our records written, from `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a reconciliation window is in aware datetimes")
        if self.start >= self.end:
            raise ValueError(f"a reconciliation window ends after it starts, not {self.start} to {self.end}")


def day_due(now: datetime, delay: timedelta) -> Window:
    """The latest whole UTC day that ended at least `delay` ago: what the daily run reconciles.

    The delay lets Stripe's late work (a charge's balance transaction) and webhook retries land
    in the books before the day is compared with Stripe."""
    end = (now - delay).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(end - timedelta(days=1), end)


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing our books and Stripe disagree on, as a matcher found it."""

    kind: str
    currency: str
    expected: int | None
    actual: int | None
    flow: Flow
    summary: str
    stripe_ids: Mapping[str, str] = field(default_factory=dict)
    our_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def balance_effect(self) -> int:
        """How much more the platform's Stripe balance holds than the ledger predicts, because of it."""
        gap = (self.actual or 0) - (self.expected or 0)
        if self.flow in (Flow.UNCHECKED, Flow.SELLER_ACCOUNT):
            return 0
        return gap if self.flow is Flow.INTO_PLATFORM else -gap

    @property
    def key(self) -> str:
        """The discrepancy's id: the same difference (kind, objects, amounts) found by any run
        has the same one, so a later run does not record it twice."""
        body = {
            "kind": self.kind,
            "currency": self.currency,
            "expected": self.expected,
            "actual": self.actual,
            "stripe": dict(sorted(self.stripe_ids.items())),
            "ours": dict(sorted(self.our_ids.items())),
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return f"disc_{digest[:24]}"


def unexplained_drift(stripe_balance: int, predicted: int, explained: int) -> int:
    """What the platform's Stripe balance holds beyond the ledger's prediction and beyond what the
    specific differences standing explain: zero when every drift has its discrepancy."""
    return stripe_balance - predicted - explained


@dataclass(frozen=True, slots=True)
class BalanceReading:
    """The platform's Stripe balance in one currency (available plus pending) beside the ledger's
    prediction of it and what the specific discrepancies standing explain of their gap."""

    currency: str
    at_stripe: int
    predicted: int
    explained: int

    @property
    def unexplained(self) -> int:
        return unexplained_drift(self.at_stripe, self.predicted, self.explained)

    def drift(self, run_id: str) -> Difference:
        """The drift discrepancy of what is unexplained, named by the run that measured it: the
        same amount measured by a later run is that drift found again, not a new one
        (`settle_drift`)."""
        return Difference(
            kind=DRIFT,
            currency=self.currency,
            expected=self.predicted + self.explained,
            actual=self.at_stripe,
            flow=Flow.INTO_PLATFORM,
            summary=f"the platform's Stripe balance holds {self.at_stripe} {self.currency}; the ledger "
            f"predicts {self.predicted} and the specific discrepancies standing account for "
            f"{self.explained}, so {self.unexplained} is unexplained",
            our_ids={"run": run_id},
        )


@dataclass(frozen=True, slots=True)
class StandingDrift:
    id: str
    balance_effect: int


@dataclass(frozen=True, slots=True)
class DriftSettlement:
    """What a run's reading does to the drift standing in its currency."""

    # The standing drift the reading measures again: it stays as it is (open or acknowledged).
    found_again: str | None
    # The standing drifts the reading measures otherwise: closed, replaced by `opens` if any.
    superseded: tuple[StandingDrift, ...]
    # The drift the reading opens for what is unexplained.
    opens: Difference | None


def settle_drift(standing: Sequence[StandingDrift], reading: BalanceReading, run_id: str) -> DriftSettlement:
    """At most one drift stands per currency, and it is what the latest reading left unexplained.

    A reading equal to the drift standing finds it again, so a lasting drift is one discrepancy
    however many runs measure it. Any other reading (zero included: a specific discrepancy found
    since explains it) supersedes it, and opens a drift for what is unexplained now, if anything.
    Several standing at once (recorded before this rule) are all superseded."""
    unexplained = reading.unexplained
    if len(standing) == 1 and standing[0].balance_effect == unexplained:
        return DriftSettlement(found_again=standing[0].id, superseded=(), opens=None)
    opens = reading.drift(run_id) if unexplained != 0 else None
    return DriftSettlement(found_again=None, superseded=tuple(standing), opens=opens)


def superseded_because(drift: StandingDrift, reading: BalanceReading) -> str:
    """Why a run closed a drift: what it measured instead."""
    unexplained, currency = reading.unexplained, reading.currency
    if unexplained == 0:
        return (
            f"the specific discrepancies standing now explain the whole gap between the platform's "
            f"Stripe balance and the ledger; {drift.balance_effect} {currency} was unexplained before"
        )
    return (
        f"the unexplained part of the gap between the platform's Stripe balance and the ledger is "
        f"{unexplained} {currency} now, not {drift.balance_effect}"
    )


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A correction an admin books for a discrepancy: `amount` from one account to another."""

    source: str
    destination: str
    amount: int
    currency: str

    def __post_init__(self) -> None:
        for account in (self.source, self.destination):
            if not _ADJUSTABLE_ACCOUNT.match(account):
                raise InvalidAdjustment(
                    f"{account!r} is not a ledger account (world:…, platform:…, buyer:…, escrow:…, seller:…)"
                )
        if self.source == self.destination:
            raise InvalidAdjustment("an adjustment moves money between two different accounts")


def adjustment_key(discrepancy_id: str) -> str:
    return f"adjustment:{discrepancy_id}"


def adjustment_entry(
    discrepancy_id: str, adjustment: Adjustment, *, admin_id: str, note: str
) -> JournalEntry:
    """The ledger entry of an admin's adjustment: kind `adjustment`, once per discrepancy, carrying
    the admin and their note."""
    move = Move(adjustment.source, adjustment.destination, adjustment.amount, adjustment.currency)
    return entry(
        adjustment_key(discrepancy_id),
        EntryKind.ADJUSTMENT,
        [move],
        discrepancy=discrepancy_id,
        admin=admin_id,
        note=note,
    )


def list_key(at: datetime, object_id: str) -> str:
    """Time then id as one string: a list's order and its cursor in one indexed field."""
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{object_id}"
