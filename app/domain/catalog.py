"""The marketplace's products as checkout reads them: where each fact lives in a catalog document,
and what makes a product sellable. Pure.

The catalog belongs to the marketplace, not to this service, so its field names are settings
(`CATALOG_*_FIELD`); a name may be a dotted path into a sub-document (`price.amount`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.money import MAX_AMOUNT


@dataclass(frozen=True, slots=True)
class CatalogFields:
    """Where each fact of a product is in a catalog document."""

    id: str
    seller: str
    title: str
    price: str
    currency: str
    active: str


@dataclass(frozen=True, slots=True)
class Product:
    """A product as the catalog has it now. `unit_amount` is None when the stored price is not
    an amount (not an integer, or out of Stripe's range): such a product cannot be sold."""

    id: str
    seller_id: str
    title: str
    unit_amount: int | None
    currency: str
    active: bool

    @property
    def sellable(self) -> bool:
        return self.active and self.unit_amount is not None and bool(self.seller_id and self.currency)


def value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path` of `document`, or None when any step is missing."""
    value: Any = document
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def product_from(document: Mapping[str, Any], fields: CatalogFields) -> Product:
    """Read a catalog document; a price that is not a positive integer of minor units (a float,
    a string, a bool) makes the product unsellable rather than being guessed at."""
    price = value_at(document, fields.price)
    amount = price if type(price) is int and 0 < price <= MAX_AMOUNT else None
    currency = value_at(document, fields.currency)
    return Product(
        id=str(value_at(document, fields.id)),
        seller_id=str(value_at(document, fields.seller) or ""),
        title=str(value_at(document, fields.title) or ""),
        unit_amount=amount,
        currency=currency.lower() if isinstance(currency, str) else "",
        active=value_at(document, fields.active) is True,
    )
