"""The admin overview: what operators watch, each figure with the list behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth import Principal, Role
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import OperationsFiguresDep, require_roles
from app.schemas.monitoring import AmountFigure, AmountOut, CountFigure, OverviewOut
from app.schemas.reconciliation import ReconciliationRunOut

router = APIRouter(prefix="/admin", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@router.get("/overview", summary="The figures operators watch, with the list behind each")
@raises()
async def overview(_: Reader, figures: OperationsFiguresDep) -> OverviewOut:
    read = await figures.read()
    return OverviewOut(
        escrow_held=_amounts(read.escrow_held),
        pending_transfers=_amounts(read.pending_transfers),
        open_discrepancies=CountFigure(
            count=read.open_discrepancies, list="/admin/reconciliation/discrepancies?status=open"
        ),
        dead_letters=CountFigure(count=read.dead_letters, list="/admin/webhook-events?status=dead_letter"),
        topups_needing_review=CountFigure(
            count=read.topups_needing_review, list="/admin/topups?status=needs_review"
        ),
        last_reconciliation=_run(read.last_reconciliation),
        last_successful_reconciliation=_run(read.last_successful_reconciliation),
    )


def _amounts(by_currency: dict[str, int]) -> AmountFigure:
    return AmountFigure(
        amounts=[
            AmountOut(amount=amount, currency=currency) for currency, amount in sorted(by_currency.items())
        ]
    )


def _run(run: object) -> ReconciliationRunOut | None:
    return ReconciliationRunOut.model_validate(run, from_attributes=True) if run is not None else None
