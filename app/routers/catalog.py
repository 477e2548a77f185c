"""The products a buyer can put in a checkout, with their prices now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth import Principal, Role
from app.errors import UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import CatalogDep, require_roles
from app.schemas.catalog import ProductList, ProductOut

router = APIRouter(prefix="/products", tags=["catalog"], route_class=ContractRoute)
# Any user of the marketplace, whatever their role.
MarketplaceUser = Annotated[
    Principal, Depends(require_roles(Role.BUYER, Role.SELLER, Role.ADMIN, Role.SUPPORT))
]


@router.get("", response_model=ProductList, summary="Active products and their prices, by id")
@raises(UnknownCursor)
async def list_products(
    _: MarketplaceUser,
    catalog: CatalogDep,
    seller_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last product_id of the previous page")
    ] = None,
) -> ProductList:
    """Any user of the marketplace. Checkout prices an order from here, never from the request."""
    page = await catalog.page(seller_id, limit, starting_after)
    return ProductList(
        data=[ProductOut.model_validate(product, from_attributes=True) for product in page.data],
        has_more=page.has_more,
    )
