"""Checkout, the buyer's orders, delivery confirmation, and the transfers to sellers for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth import Principal, Role
from app.domain.checkout import LineRequest, TransferStatus
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import (
    CheckoutDep,
    EscrowReleasesDep,
    IdempotentRequestDep,
    SellerTransfersDep,
    require_feature,
    require_roles,
)
from app.schemas.checkout import (
    CheckoutBody,
    ConfirmDeliveryBody,
    DeliveryOut,
    EscrowOut,
    OrderList,
    OrderOut,
    OrderSummaryOut,
    SellerTransferList,
    SellerTransferOut,
)
from app.services.checkout import CHECKOUT_ERRORS, CheckoutRequest, EscrowDisputed, OrderNotPaid
from app.services.flags import Flag
from app.services.payment_operations import PAYMENT_OPERATION_ERRORS

router = APIRouter(tags=["checkout"], route_class=ContractRoute)
Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]
# Who may check out: a buyer, and (checked after the role) one the `checkout_v2` rollout includes.
CheckoutBuyer = Buyer
CheckoutV2 = Annotated[None, Depends(require_feature(Flag.CHECKOUT_V2))]
OrderReader = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.SELLER, Role.ADMIN, Role.SUPPORT))]


@router.post(
    "/checkout",
    status_code=201,
    response_model=OrderOut,
    summary="Buy: an order into escrow, paid by the wallet and/or a card (client secret for Stripe Elements)",
)
@raises(*CHECKOUT_ERRORS, *PAYMENT_OPERATION_ERRORS)
async def checkout(
    body: CheckoutBody,
    buyer: CheckoutBuyer,
    _: CheckoutV2,
    idempotent: IdempotentRequestDep,
    orders: CheckoutDep,
) -> OrderOut:
    """Refused (403 `feature_disabled`) to a buyer without the `checkout_v2` feature yet.
    Prices come from the catalog. With `use_wallet`, the wallet pays first (legacy balance,
    then platform balance); a card pays the rest (`amount_due`, `client_secret`), and the order
    is `paid` once it has. The same Idempotency-Key always names the same order."""
    request = CheckoutRequest(
        lines=tuple(LineRequest(item.product_id, item.quantity) for item in body.items),
        currency=body.currency,
        use_wallet=body.use_wallet,
    )
    return await idempotent.respond(
        buyer, body, OrderOut, lambda: orders.open(buyer.user_id, request, idempotent.key, buyer.actor)
    )


@router.get("/orders", response_model=OrderList, summary="The buyer's orders, newest first")
@raises(UnknownCursor)
async def list_orders(
    buyer: Buyer,
    orders: CheckoutDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last order_id of the previous page")
    ] = None,
) -> OrderList:
    page = await orders.page(buyer.user_id, limit, starting_after)
    return OrderList(
        data=[OrderSummaryOut.model_validate(order, from_attributes=True) for order in page.data],
        has_more=page.has_more,
    )


@router.get("/orders/{order_id}", response_model=OrderOut, summary="An order (a seller sees their part only)")
@raises(NotFound)
async def get_order(order_id: str, viewer: OrderReader, orders: CheckoutDep) -> OrderOut:
    view = await orders.view(
        order_id,
        viewer.user_id,
        staff=viewer.has_any(Role.ADMIN, Role.SUPPORT),
        seller=viewer.has_any(Role.SELLER),
    )
    return OrderOut.model_validate(view, from_attributes=True)


@router.post(
    "/orders/{order_id}/confirm-delivery",
    response_model=DeliveryOut,
    summary="The buyer received the goods: release the escrow to the seller(s)",
)
@raises(NotFound, OrderNotPaid, EscrowDisputed)
async def confirm_delivery(
    order_id: str,
    body: ConfirmDeliveryBody,
    buyer: Buyer,
    idempotent: IdempotentRequestDep,
    releases: EscrowReleasesDep,
) -> DeliveryOut:
    """Confirms one seller's part (`seller_id`) or the whole order. Each escrow is released once,
    whoever confirms or auto-releases it; its net is then transferred to the seller, or waits
    until the seller can receive transfers."""

    async def release() -> DeliveryOut:
        escrows = await releases.confirm_delivery(order_id, buyer.user_id, body.seller_id, buyer.actor)
        return DeliveryOut(
            order_id=order_id,
            escrows=[EscrowOut.model_validate(escrow, from_attributes=True) for escrow in escrows],
        )

    return await idempotent.respond(buyer, body, DeliveryOut, release)


admin = APIRouter(prefix="/admin/transfers", tags=["admin"], route_class=ContractRoute)
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@admin.get(
    "",
    response_model=SellerTransferList,
    summary="Transfers to sellers, newest first (`status=failed` to act)",
)
@raises(UnknownCursor)
async def list_transfers(
    _: Staff,
    transfers: SellerTransfersDep,
    status: TransferStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last transfer_id of the previous page")
    ] = None,
) -> SellerTransferList:
    page = await transfers.page(status, limit, starting_after)
    return SellerTransferList(
        data=[SellerTransferOut.model_validate(transfer, from_attributes=True) for transfer in page.data],
        has_more=page.has_more,
    )
