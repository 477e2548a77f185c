"""The admin overview: the figures operators watch, each with the list behind it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.reconciliation import ReconciliationRunOut


class AmountOut(BaseModel):
    amount: int = Field(description="Minor units")
    currency: str


class CountFigure(BaseModel):
    count: int
    list: str = Field(description="The API list behind the figure")


class AmountFigure(BaseModel):
    amounts: list[AmountOut] = Field(description="Per currency, the platform's always present")


class MigrationRunProgressOut(BaseModel):
    run_id: str
    status: str = Field(description="running | interrupted | completed | rolled_back")
    started_at: datetime
    finished_at: datetime | None
    wallets: int = Field(description="Legacy wallets the run found when it started")
    migrated: int = Field(description="Moved into the ledger (late credits included)")
    already_migrated: int = Field(description="Migrated before: one by one, or by an earlier run")
    rejected: int = Field(description="Not migrated, each with its reason")
    remaining: int = Field(description="Not reached yet (0 once the run completed)")
    detail: str = Field(description="The API path of the run, with the wallets it rejected")


class MigrationProgressFigure(BaseModel):
    list: str = Field(description="The API list of migration runs")
    last_run: MigrationRunProgressOut | None = Field(description="The newest run (null: none yet)")


class OverviewOut(BaseModel):
    """A domain adds its figure here as it lands (CONVENTIONS.md, "The admin overview")."""

    escrow_held: AmountFigure = Field(description="Money held in escrow (`escrow:*` accounts)")
    pending_transfers: AmountFigure = Field(
        description="Money released to sellers, waiting for its transfer (`seller:*:pending_transfer`)"
    )
    open_discrepancies: CountFigure
    dead_letters: CountFigure = Field(description="Stripe events that kept failing, waiting for an admin")
    topups_needing_review: CountFigure
    open_disputes: CountFigure = Field(description="Buyers' disputes waiting for an admin's decision")
    open_chargebacks: CountFigure = Field(description="Card chargebacks still open at Stripe")
    failed_transfers: CountFigure = Field(description="Transfers to sellers Stripe refused for good")
    failed_refunds: CountFigure = Field(
        description="Refunds whose card part failed at Stripe (the money is back in escrow)"
    )
    migration_progress: MigrationProgressFigure = Field(description="The legacy wallet migration")
    last_reconciliation: ReconciliationRunOut | None = Field(
        description="The latest run, whatever its outcome"
    )
    last_successful_reconciliation: ReconciliationRunOut | None
