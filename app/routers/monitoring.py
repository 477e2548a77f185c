"""The admin overview: what operators watch, each figure with the list behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth import Principal, Role
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import OperationsFiguresDep, require_roles
from app.schemas.monitoring import (
    AmountFigure,
    AmountOut,
    CountFigure,
    MigrationProgressFigure,
    MigrationRunProgressOut,
    OverviewOut,
)
from app.schemas.reconciliation import ReconciliationRunOut
from app.services.migration import MigrationRun

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
        open_disputes=CountFigure(count=read.open_disputes, list="/admin/disputes?kind=buyer&open=true"),
        open_chargebacks=CountFigure(
            count=read.open_chargebacks, list="/admin/disputes?kind=chargeback&open=true"
        ),
        failed_transfers=CountFigure(count=read.failed_transfers, list="/admin/transfers?status=failed"),
        failed_refunds=CountFigure(count=read.failed_refunds, list="/admin/refunds?status=failed"),
        migration_progress=MigrationProgressFigure(
            list="/admin/migrations", last_run=_migration(read.last_migration)
        ),
        last_reconciliation=_run(read.last_reconciliation),
        last_successful_reconciliation=_run(read.last_successful_reconciliation),
    )


def _migration(run: MigrationRun | None) -> MigrationRunProgressOut | None:
    if run is None:
        return None
    progress = run.wallets_progress
    return MigrationRunProgressOut(
        run_id=run.id,
        status=str(run.status),
        started_at=run.started_at,
        finished_at=run.finished_at,
        wallets=progress.wallets,
        migrated=progress.migrated,
        already_migrated=progress.already_migrated,
        rejected=progress.rejected,
        remaining=progress.remaining,
        detail=f"/admin/migrations/{run.id}",
    )


def _amounts(by_currency: dict[str, int]) -> AmountFigure:
    return AmountFigure(
        amounts=[
            AmountOut(amount=amount, currency=currency) for currency, amount in sorted(by_currency.items())
        ]
    )


def _run(run: object) -> ReconciliationRunOut | None:
    return ReconciliationRunOut.model_validate(run, from_attributes=True) if run is not None else None
