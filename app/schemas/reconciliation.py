"""Requests and responses of the reconciliation review API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.domain.reconciliation import ACCOUNT_PATTERN, MAX_NOTE_LENGTH, DiscrepancyStatus, Resolution
from app.schemas.base import MinorUnits, RequestBody


class MatchCountsOut(BaseModel):
    stripe_objects: int = Field(description="Stripe objects the check read in the window")
    our_records: int = Field(description="Our records the check read in the window")
    matched: int
    differences: int


class ReconciliationRunOut(BaseModel):
    id: str
    window_start: datetime = Field(description="Stripe objects created and our records written from here…")
    window_end: datetime = Field(description="…to here (excluded)")
    trigger: str = Field(description="schedule | command")
    status: str = Field(description="running | succeeded | failed")
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    counts: dict[str, MatchCountsOut] = Field(description="Per check (topups, stripe_fees, …)")
    new_discrepancies: int
    known_discrepancies: int = Field(
        description="Differences found again, already recorded by an earlier run"
    )
    superseded_discrepancies: int = Field(
        description="Balance drifts standing before the run that it measured otherwise, and closed"
    )
    error: str | None


class ReconciliationRunList(BaseModel):
    data: list[ReconciliationRunOut]
    has_more: bool


class ResolutionOut(BaseModel):
    resolution: Resolution
    note: str
    by: str = Field(description="The admin who resolved it")
    at: datetime
    adjustment_entry_id: str | None = Field(
        description="The ledger entry of the adjustment (kind `adjustment`)"
    )


class SupersessionOut(BaseModel):
    run_id: str = Field(description="The run that measured the platform balance's gap otherwise")
    at: datetime
    unexplained: int = Field(
        description="What that run found unexplained in the currency, minor units (0: all explained)"
    )
    replaced_by: str | None = Field(description="The drift discrepancy that run opened for it")
    reason: str


class DiscrepancyOut(BaseModel):
    id: str
    kind: str = Field(examples=["topup_entry_missing"])
    status: DiscrepancyStatus
    currency: str
    expected: int | None = Field(description="What our books hold, minor units (null: nothing)")
    actual: int | None = Field(description="What Stripe holds, minor units (null: nothing)")
    balance_effect: int = Field(
        description="How much more the platform's Stripe balance holds than the ledger predicts because of it"
    )
    summary: str
    stripe_ids: dict[str, str]
    our_ids: dict[str, str]
    first_run_id: str
    last_run_id: str
    times_found: int = Field(description="Runs that found it")
    first_found_at: datetime
    last_found_at: datetime
    resolution: ResolutionOut | None
    superseded: SupersessionOut | None = Field(
        description="Set on a `platform_balance_drift` a later run closed (status `superseded`): "
        "a drift is what no specific discrepancy explains of the balance's gap as of the latest run"
    )


class DiscrepancyList(BaseModel):
    data: list[DiscrepancyOut]
    has_more: bool


class AdjustmentBody(RequestBody):
    from_account: str = Field(pattern=ACCOUNT_PATTERN, examples=["world:card"])
    to_account: str = Field(
        pattern=ACCOUNT_PATTERN,
        examples=["buyer:u_42:wallet"],
        description="Another account than `from_account`",
    )
    amount: MinorUnits
    currency: str = Field(pattern=r"^[a-z]{3}$", examples=["usd"])


Note = Annotated[
    str, Field(min_length=1, max_length=MAX_NOTE_LENGTH, description="Why; kept in the audit log")
]


class AcknowledgeBody(RequestBody):
    """The difference is real and understood; nothing is booked."""

    resolution: Literal["acknowledged"]
    note: Note


class AdjustBody(RequestBody):
    """The difference is corrected by `adjustment`, booked as a ledger entry of kind `adjustment`."""

    resolution: Literal["adjusted"]
    note: Note
    adjustment: AdjustmentBody


ResolveDiscrepancyBody = Annotated[AcknowledgeBody | AdjustBody, Field(discriminator="resolution")]
