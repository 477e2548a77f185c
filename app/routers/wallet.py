"""The buyer's wallet: balances, history and card top-ups; and the top-ups as staff see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth import Principal, Role
from app.domain.money import Money
from app.domain.wallet import TopupStatus
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import (
    IdempotentRequestDep,
    TopupsDep,
    WalletViewDep,
    require_feature,
    require_roles,
)
from app.schemas.wallet import (
    StaffTopupList,
    StaffTopupOut,
    TopupOut,
    TopupRequestBody,
    WalletLineOut,
    WalletLinesOut,
    WalletOut,
)
from app.services.flags import Flag
from app.services.payment_operations import PAYMENT_OPERATION_ERRORS
from app.services.wallet import (
    TooManyOpenTopups,
    TopupAlreadyOpened,
    TopupAmountOutOfRange,
    UnsupportedCurrency,
)

router = APIRouter(prefix="/wallet", tags=["wallet"], route_class=ContractRoute)
Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]
WalletV2 = Annotated[None, Depends(require_feature(Flag.WALLET_V2))]


@router.post(
    "/topup_request",
    status_code=201,
    response_model=TopupOut,
    summary="Start a card top-up; returns the client secret for Stripe Elements",
)
@raises(
    TopupAmountOutOfRange,
    UnsupportedCurrency,
    TooManyOpenTopups,
    TopupAlreadyOpened,
    *PAYMENT_OPERATION_ERRORS,
)
async def request_topup(
    body: TopupRequestBody, buyer: Buyer, _: WalletV2, idempotent: IdempotentRequestDep, topups: TopupsDep
) -> TopupOut:
    """Refused (403 `feature_disabled`) to a buyer without the `wallet_v2` feature yet."""
    amount = Money(body.amount, body.currency)
    return await idempotent.respond(
        buyer, body, TopupOut, lambda: topups.request(buyer.user_id, amount, idempotent.key)
    )


@router.get("/topups/{topup_id}", response_model=TopupOut, summary="A top-up's status")
@raises(NotFound)
async def get_topup(topup_id: str, buyer: Buyer, topups: TopupsDep) -> TopupOut:
    topup = await topups.get(topup_id, owner=buyer.user_id)
    return TopupOut.model_validate(topup, from_attributes=True)


@router.get("", response_model=WalletOut, summary="Legacy and platform balances")
@raises()
async def get_wallet(buyer: Buyer, wallet_view: WalletViewDep) -> WalletOut:
    """The new wallet for a buyer with the `wallet_v2` feature (their legacy wallet migrated first
    when `legacy_migration` is on for them too), the legacy balance alone otherwise (`flow`)."""
    return WalletOut.model_validate(await wallet_view.summary(buyer.user_id), from_attributes=True)


@router.get("/transactions", response_model=WalletLinesOut, summary="History of both balances, newest first")
@raises(UnknownCursor)
async def list_transactions(
    buyer: Buyer,
    wallet_view: WalletViewDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=600)] = None,
) -> WalletLinesOut:
    lines, has_more = await wallet_view.lines(buyer.user_id, limit=limit, starting_after=starting_after)
    return WalletLinesOut(
        data=[WalletLineOut.model_validate(line, from_attributes=True) for line in lines], has_more=has_more
    )


admin = APIRouter(prefix="/admin/topups", tags=["admin"], route_class=ContractRoute)
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@admin.get(
    "", response_model=StaffTopupList, summary="Top-ups, newest first (`status=needs_review` to review)"
)
@raises(UnknownCursor)
async def list_topups(
    _: Staff,
    topups: TopupsDep,
    status: TopupStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last id of the previous page")
    ] = None,
) -> StaffTopupList:
    page = await topups.page(status, limit, starting_after)
    return StaffTopupList(
        data=[StaffTopupOut.model_validate(topup, from_attributes=True) for topup in page.data],
        has_more=page.has_more,
    )
