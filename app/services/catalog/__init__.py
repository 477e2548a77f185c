"""The marketplace's product catalog, where checkout takes its prices from."""

from app.domain.catalog import Product
from app.services.catalog.repository import ProductPage
from app.services.catalog.service import Catalog

__all__ = ["Catalog", "Product", "ProductPage"]
