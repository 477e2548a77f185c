"""Refunds by admins outside disputes, the refunds list (failed card parts to act on), and a
failed card part given to the buyer's wallet instead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role
from app.domain.refunds import DEFAULT_SOURCE_ORDER, RefundStatus, refund_id_for
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import IdempotentRequestDep, RefundsDep, require_roles
from app.schemas.refunds import RefundList, RefundOrderBody, RefundOut, RetryToWalletBody
from app.services.payment_operations import PAYMENT_OPERATION_ERRORS
from app.services.refunds import REFUND_ERRORS, RefundNotFailed

orders = APIRouter(prefix="/admin/orders", tags=["admin"], route_class=ContractRoute)
router = APIRouter(prefix="/admin/refunds", tags=["admin"], route_class=ContractRoute)

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
ObjectId = Annotated[str, Path(min_length=1, max_length=255)]


@orders.post(
    "/{order_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund all or part of a seller's held part of an order, each source back to where it came from",
)
@raises(NotFound, *REFUND_ERRORS, *PAYMENT_OPERATION_ERRORS)
async def refund_order(
    order_id: ObjectId,
    body: RefundOrderBody,
    admin: Admin,
    idempotent: IdempotentRequestDep,
    refunds: RefundsDep,
) -> RefundOut:
    """Card first, then wallet, then legacy (or `sources`), never more than each source paid. The
    wallet and legacy parts are back at once; the card part is `pending` until Stripe says."""
    refund_id = refund_id_for(admin.user_id, idempotent.key)
    sources = tuple(body.sources or DEFAULT_SOURCE_ORDER)

    async def refund() -> object:
        return await refunds.refund_order(
            order_id, body.seller_id, body.amount, sources, body.reason, refund_id, admin.actor
        )

    return await idempotent.respond(admin, body, RefundOut, refund)


@router.get("", response_model=RefundList, summary="Refunds, newest first (`status=failed` to act on)")
@raises(UnknownCursor)
async def list_refunds(
    _: Staff,
    refunds: RefundsDep,
    status: RefundStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last refund_id of the previous page")
    ] = None,
) -> RefundList:
    page = await refunds.page(status, limit, starting_after)
    return RefundList(
        data=[RefundOut.model_validate(refund, from_attributes=True) for refund in page.data],
        has_more=page.has_more,
    )


@router.get("/{refund_id}", response_model=RefundOut, summary="A refund")
@raises(NotFound)
async def get_refund(refund_id: ObjectId, _: Staff, refunds: RefundsDep) -> RefundOut:
    refund = await refunds.get(refund_id)
    if refund is None:
        raise NotFound(f"no refund {refund_id}")
    return RefundOut.model_validate(refund, from_attributes=True)


@router.post(
    "/{refund_id}/retry-to-wallet",
    response_model=RefundOut,
    summary="Give a failed card refund to the buyer's wallet instead",
)
@raises(NotFound, RefundNotFailed)
async def retry_to_wallet(
    refund_id: ObjectId,
    body: RetryToWalletBody,
    admin: Admin,
    idempotent: IdempotentRequestDep,
    refunds: RefundsDep,
) -> RefundOut:
    return await idempotent.respond(
        admin, body, RefundOut, lambda: refunds.retry_to_wallet(refund_id, admin.actor)
    )
