"""Seller onboarding: a seller's link to Stripe's hosted onboarding, their verification status and
its refresh (the seller, staff as each route says); and the sellers as the admin console lists them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role
from app.domain.onboarding import SellerStatus
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import OnboardingDep, require_owner, require_roles
from app.schemas.onboarding import (
    ListedStatus,
    OnboardingLinkOut,
    SellerList,
    SellerStatusOut,
    SellerSummaryOut,
)
from app.services.onboarding import LINK_ERRORS, REFRESH_ERRORS, SellerFilter

router = APIRouter(prefix="/seller/{seller_id}", tags=["seller onboarding"], route_class=ContractRoute)

SellerId = Annotated[str, Path(min_length=1, max_length=255)]
# The seller themselves, or an admin; another seller's id is 404, as an unknown one.
SellerOrAdmin = Annotated[
    Principal, Depends(require_owner("seller_id", Role.SELLER, staff_roles=(Role.ADMIN,)))
]
# Support reads a seller's status too, and changes nothing.
SellerOrStaff = Annotated[
    Principal, Depends(require_owner("seller_id", Role.SELLER, staff_roles=(Role.ADMIN, Role.SUPPORT)))
]


@router.get(
    "/onboarding-link",
    response_model=OnboardingLinkOut,
    summary="A fresh link to Stripe's hosted onboarding (the seller's account is created on first need)",
)
@raises(*LINK_ERRORS)
async def onboarding_link(
    seller_id: SellerId, principal: SellerOrAdmin, onboarding: OnboardingDep
) -> OnboardingLinkOut:
    """Single use and short-lived: request one each time the seller is sent to Stripe. The
    frontend page of `ONBOARDING_REFRESH_URL` (where an expired link lands) calls this again."""
    link = await onboarding.onboarding_link(seller_id, principal.actor)
    return OnboardingLinkOut.model_validate(link, from_attributes=True)


@router.get("/stripe-status", response_model=SellerStatusOut, summary="The seller's verification status")
@raises(NotFound)
async def stripe_status(seller_id: SellerId, _: SellerOrStaff, onboarding: OnboardingDep) -> SellerStatusOut:
    """As last read from Stripe (Connect webhooks keep it current); `not_started` before the
    seller has an account."""
    return SellerStatusOut.model_validate(await onboarding.standing(seller_id), from_attributes=True)


@router.post(
    "/stripe-status/refresh",
    response_model=SellerStatusOut,
    summary="Read the seller's account from Stripe now, then answer their status",
)
@raises(*REFRESH_ERRORS)
async def refresh_stripe_status(
    seller_id: SellerId, principal: SellerOrAdmin, onboarding: OnboardingDep
) -> SellerStatusOut:
    """For when a webhook is late. Changes no money, and repeating it is harmless: no
    `Idempotency-Key`."""
    standing = await onboarding.refresh(seller_id, principal.actor)
    return SellerStatusOut.model_validate(standing, from_attributes=True)


admin = APIRouter(prefix="/admin/sellers", tags=["admin"], route_class=ContractRoute)
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@admin.get("", response_model=SellerList, summary="Sellers with a connected account, newest account first")
@raises(UnknownCursor)
async def list_sellers(
    _: Staff,
    onboarding: OnboardingDep,
    status: ListedStatus | None = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="A seller id or a Stripe account id"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last account_id of the previous page")
    ] = None,
) -> SellerList:
    where = SellerFilter(status=SellerStatus(status) if status else None, seller_or_account=q)
    page = await onboarding.page(where, limit, starting_after)
    return SellerList(
        data=[SellerSummaryOut.model_validate(account, from_attributes=True) for account in page.data],
        has_more=page.has_more,
    )
