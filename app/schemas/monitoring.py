"""The admin overview: the figures operators watch, each with the list behind it."""

from __future__ import annotations

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


class OverviewOut(BaseModel):
    """Checkout, disputes, payouts and the migration add their figures here as they land
    (CONVENTIONS.md, "The admin overview")."""

    escrow_held: AmountFigure = Field(description="Money held in escrow (`escrow:*` accounts)")
    pending_transfers: AmountFigure = Field(
        description="Money released to sellers, waiting for its transfer (`seller:*:pending_transfer`)"
    )
    open_discrepancies: CountFigure
    dead_letters: CountFigure = Field(description="Stripe events that kept failing, waiting for an admin")
    topups_needing_review: CountFigure
    last_reconciliation: ReconciliationRunOut | None = Field(
        description="The latest run, whatever its outcome"
    )
    last_successful_reconciliation: ReconciliationRunOut | None
