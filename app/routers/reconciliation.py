"""Reconciliation as staff review it: the runs, the discrepancies they found, and an admin's
resolution of one (acknowledged, or corrected by an adjustment entry)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role
from app.domain.ledger import InsufficientFunds
from app.domain.reconciliation import (
    Adjustment,
    DiscrepancyAlreadyResolved,
    DiscrepancyStatus,
    InvalidAdjustment,
    Resolution,
)
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import IdempotentRequestDep, ReconciliationReviewDep, require_roles
from app.schemas.reconciliation import (
    AdjustBody,
    DiscrepancyList,
    DiscrepancyOut,
    ReconciliationRunList,
    ReconciliationRunOut,
    ResolveDiscrepancyBody,
)

router = APIRouter(prefix="/admin/reconciliation", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
DiscrepancyId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100)]
StartingAfter = Annotated[str | None, Query(max_length=64, description="Last id of the previous page")]


@router.get("/runs", summary="Reconciliation runs, newest first")
@raises(UnknownCursor)
async def list_runs(
    _: Reader, review: ReconciliationReviewDep, limit: Limit = 20, starting_after: StartingAfter = None
) -> ReconciliationRunList:
    page = await review.runs(limit, starting_after)
    return ReconciliationRunList(
        data=[ReconciliationRunOut.model_validate(run, from_attributes=True) for run in page.data],
        has_more=page.has_more,
    )


@router.get("/discrepancies", summary="Discrepancies, newest first (`status=open` to review)")
@raises(UnknownCursor)
async def list_discrepancies(
    _: Reader,
    review: ReconciliationReviewDep,
    status: DiscrepancyStatus | None = None,
    limit: Limit = 20,
    starting_after: StartingAfter = None,
) -> DiscrepancyList:
    page = await review.discrepancies(status, limit, starting_after)
    return DiscrepancyList(
        data=[DiscrepancyOut.model_validate(item, from_attributes=True) for item in page.data],
        has_more=page.has_more,
    )


@router.get("/discrepancies/{discrepancy_id}", summary="One discrepancy")
@raises(NotFound)
async def get_discrepancy(
    _: Reader, review: ReconciliationReviewDep, discrepancy_id: DiscrepancyId
) -> DiscrepancyOut:
    return DiscrepancyOut.model_validate(await review.get(discrepancy_id), from_attributes=True)


@router.post("/discrepancies/{discrepancy_id}/resolve", summary="Acknowledge a discrepancy, or correct it")
@raises(NotFound, DiscrepancyAlreadyResolved, InvalidAdjustment, InsufficientFunds)
async def resolve_discrepancy(
    body: ResolveDiscrepancyBody,
    admin: Admin,
    idempotent: IdempotentRequestDep,
    review: ReconciliationReviewDep,
    discrepancy_id: DiscrepancyId,
) -> DiscrepancyOut:
    """`adjusted` books `adjustment` as a ledger entry of kind `adjustment` (key
    `adjustment:{discrepancy_id}`, with the admin and the note); `acknowledged` books nothing.
    An acknowledged discrepancy may still be adjusted; an adjusted one is final. Audited."""
    adjustment = None
    if isinstance(body, AdjustBody):
        moved = body.adjustment
        adjustment = Adjustment(moved.from_account, moved.to_account, moved.amount, moved.currency)
    return await idempotent.respond(
        admin,
        body,
        DiscrepancyOut,
        lambda: review.resolve(
            discrepancy_id, Resolution(body.resolution), body.note, admin.actor, adjustment
        ),
    )
