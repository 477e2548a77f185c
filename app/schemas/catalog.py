"""Responses of the product catalog API."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field


class ProductOut(BaseModel):
    # A catalog record's `id` is the API's `product_id`.
    product_id: str = Field(validation_alias=AliasChoices("product_id", "id"))
    seller_id: str
    title: str
    unit_amount: int = Field(description="Price of one unit, minor units")
    currency: str


class ProductList(BaseModel):
    data: list[ProductOut]
    has_more: bool
