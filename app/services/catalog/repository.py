"""The marketplace's `products` collection (name, database and field names from the settings),
read only, and the indexes the service's reads need, which this repository owns.

Products are named by their id as a string. The list of active products is ordered by id, the
one order every catalog has (a marketplace's products need not record when they were added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from app.config import Settings
from app.db import Database, Document
from app.domain.catalog import CatalogFields, Product, product_from
from app.errors import UnknownCursor


def catalog_fields(settings: Settings) -> CatalogFields:
    return CatalogFields(
        id=settings.catalog_id_field,
        seller=settings.catalog_seller_field,
        title=settings.catalog_title_field,
        price=settings.catalog_price_field,
        currency=settings.catalog_currency_field,
        active=settings.catalog_active_field,
    )


def catalog_indexes(fields: CatalogFields) -> list[IndexModel]:
    """Active products by id (the list), and by seller then id (the list of one seller)."""
    return [
        IndexModel([(fields.active, ASCENDING), (fields.id, ASCENDING)], name="payments_service_active_id"),
        IndexModel(
            [(fields.seller, ASCENDING), (fields.active, ASCENDING), (fields.id, ASCENDING)],
            name="payments_service_seller_active_id",
        ),
    ]


@dataclass(frozen=True, slots=True)
class ProductPage:
    data: list[Product]
    has_more: bool


class CatalogRepository:
    def __init__(self, database: Database, settings: Settings) -> None:
        catalog_db = database.client[settings.catalog_database or settings.mongodb_database]
        self._products: AsyncCollection[Document] = catalog_db[settings.catalog_collection]
        self.fields = catalog_fields(settings)

    async def ensure_indexes(self) -> None:
        await self._products.create_indexes(catalog_indexes(self.fields))

    async def find(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """The products among `product_ids` that exist, active or not, by id; one read."""
        found = self._products.find({self.fields.id: {"$in": list(product_ids)}}, self._projection)
        products = [product_from(document, self.fields) async for document in found]
        return {product.id: product for product in products}

    async def page(self, seller_id: str | None, limit: int, starting_after: str | None) -> ProductPage:
        """Active products by id, of one seller or all, after the product `starting_after`."""
        query: dict[str, Any] = {self.fields.active: True}
        if seller_id is not None:
            query[self.fields.seller] = seller_id
        if starting_after is not None:
            if (
                await self._products.find_one({**query, self.fields.id: starting_after}, {"_id": True})
                is None
            ):
                raise UnknownCursor(f"starting_after: no product {starting_after} in this list")
            query[self.fields.id] = {"$gt": starting_after}
        cursor = self._products.find(query, self._projection).sort(self.fields.id, ASCENDING).limit(limit + 1)
        products = [product_from(document, self.fields) async for document in cursor]
        return ProductPage(data=products[:limit], has_more=len(products) > limit)

    @property
    def _projection(self) -> dict[str, bool]:
        fields = self.fields
        paths = (fields.id, fields.seller, fields.title, fields.price, fields.currency, fields.active)
        return dict.fromkeys(paths, True)
