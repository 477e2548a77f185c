"""A seller's balances, their payouts to their bank, and the payout history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role, ensure_owner
from app.domain.payouts import payout_id
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import (
    FeatureFlagsDep,
    IdempotentRequestDep,
    PayoutsDep,
    require_owner,
    require_roles,
)
from app.schemas.payouts import PayoutBody, PayoutList, PayoutOut, SellerBalanceOut
from app.services.flags import FeatureDisabled, Flag
from app.services.payment_operations import PAYMENT_OPERATION_ERRORS
from app.services.payouts import PAYOUT_ERRORS

router = APIRouter(tags=["payouts"], route_class=ContractRoute)

SellerId = Annotated[str, Path(min_length=1, max_length=255)]
STAFF = (Role.ADMIN, Role.SUPPORT)
# The seller themselves, support or an admin; another seller's id is 404, as an unknown one.
SellerOrStaff = Annotated[Principal, Depends(require_owner("seller_id", Role.SELLER, staff_roles=STAFF))]
PayoutReader = Annotated[Principal, Depends(require_roles(Role.SELLER, *STAFF))]
# Who may request a payout: the seller or an admin; the `seller_payouts` rollout flag is then
# checked for the seller the payout is for (an admin cannot pay out a seller outside it).
PayoutRequester = Annotated[Principal, Depends(require_roles(Role.SELLER, Role.ADMIN))]


@router.get("/seller/{seller_id}/balance", response_model=SellerBalanceOut, summary="The seller's balances")
@raises()
async def seller_balance(seller_id: SellerId, _: SellerOrStaff, payouts: PayoutsDep) -> SellerBalanceOut:
    """In escrow and pending transfer from our ledger; available and pending from the seller's
    Stripe balance (cached a few seconds; when Stripe is slow, the last known figures with their
    time and `stripe_balance_stale`); what open disputes hold and what the seller owes apart."""
    return SellerBalanceOut.model_validate(await payouts.balance(seller_id), from_attributes=True)


@router.post(
    "/payouts", status_code=201, response_model=PayoutOut, summary="Pay the seller's balance to their bank"
)
@raises(NotFound, FeatureDisabled, *PAYOUT_ERRORS, *PAYMENT_OPERATION_ERRORS)
async def request_payout(
    body: PayoutBody,
    principal: PayoutRequester,
    idempotent: IdempotentRequestDep,
    payouts: PayoutsDep,
    flags: FeatureFlagsDep,
) -> PayoutOut:
    """Refused (403 `feature_disabled`) for a seller without the `seller_payouts` feature yet.
    The amount defaults to everything payable. Refused while the seller cannot pay out, has an
    open dispute or chargeback, asks for more than is payable or less than the minimum. The same
    Idempotency-Key always names the same payout."""
    ensure_owner(principal, body.seller_id, staff_roles=(Role.ADMIN,))
    await flags.require(Flag.SELLER_PAYOUTS, body.seller_id)
    identity = payout_id(principal.user_id, idempotent.key)
    return await idempotent.respond(
        principal,
        body,
        PayoutOut,
        lambda: payouts.request(identity, body.seller_id, body.amount, body.currency, principal.actor),
    )


@router.get("/payouts", response_model=PayoutList, summary="A seller's payouts, newest first")
@raises(NotFound, UnknownCursor)
async def list_payouts(
    principal: PayoutReader,
    payouts: PayoutsDep,
    seller_id: Annotated[str, Query(min_length=1, max_length=255)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last payout_id of the previous page")
    ] = None,
) -> PayoutList:
    ensure_owner(principal, seller_id, staff_roles=STAFF)
    page = await payouts.page(seller_id, limit, starting_after)
    return PayoutList(
        data=[PayoutOut.model_validate(payout, from_attributes=True) for payout in page.data],
        has_more=page.has_more,
    )


@router.get("/payouts/{payout_id}", response_model=PayoutOut, summary="One payout")
@raises(NotFound)
async def get_payout(
    payout_id: Annotated[str, Path(min_length=1, max_length=255)],
    principal: PayoutReader,
    payouts: PayoutsDep,
) -> PayoutOut:
    """Another seller's payout is 404, as an unknown one."""
    owner = None if principal.has_any(*STAFF) else principal.user_id
    return PayoutOut.model_validate(await payouts.get(payout_id, seller_id=owner), from_attributes=True)
