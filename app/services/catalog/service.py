"""The product catalog: what the marketplace sells, at what price, read when needed, never cached,
so a checkout always charges the price of the moment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.config import Settings
from app.db import Database
from app.domain.catalog import Product
from app.services.catalog.repository import CatalogRepository, ProductPage


class Catalog:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._products = CatalogRepository(database, settings)

    async def ensure_indexes(self) -> None:
        await self._products.ensure_indexes()

    async def products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """The products among `product_ids` that exist (sellable or not), by id, in one read."""
        return await self._products.find(product_ids)

    async def page(self, seller_id: str | None, limit: int, starting_after: str | None) -> ProductPage:
        """Active products with a valid price, by id; one whose stored price is not an amount is
        left out of the page (it cannot be bought), so a page may be shorter than `limit`."""
        page = await self._products.page(seller_id, limit, starting_after)
        return replace(page, data=[product for product in page.data if product.sellable])
