"""Requests and responses of checkout: orders, their escrows, delivery confirmation, and the
transfers to sellers as staff see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from app.schemas.base import RequestBody, from_settings


class CheckoutItemBody(RequestBody):
    product_id: str = Field(min_length=1, max_length=255, examples=["prod_ceramic_mug"])
    quantity: int = Field(
        strict=True,
        ge=1,
        examples=[1],
        description="Units, as a JSON integer",
        json_schema_extra=from_settings(maximum="checkout_max_quantity"),
    )


class CheckoutBody(RequestBody):
    """What to buy. Prices come from the catalog (`GET /products`), never from the request."""

    items: list[CheckoutItemBody] = Field(
        min_length=1, json_schema_extra=from_settings(maxItems="checkout_max_lines")
    )
    currency: str = Field(
        pattern=r"^[a-z]{3}$", examples=["usd"], json_schema_extra=from_settings(enum=["platform_currency"])
    )
    use_wallet: bool = Field(
        default=False, strict=True, description="Pay from the wallet first (legacy balance, then platform)"
    )


class ConfirmDeliveryBody(RequestBody):
    seller_id: str | None = Field(
        default=None, min_length=1, max_length=255, description="Confirm this seller's part only"
    )


class FundingOut(BaseModel):
    legacy: int = Field(description="From the migrated legacy balance, minor units")
    wallet: int = Field(description="From the platform wallet balance, minor units")
    card: int = Field(description="By card, minor units")


class OrderLineOut(BaseModel):
    """A line as bought: the product's title and price at checkout."""

    product_id: str
    title: str
    seller_id: str
    unit_amount: int
    quantity: int
    line_total: int


class EscrowOut(BaseModel):
    escrow_id: str = Field(validation_alias=AliasChoices("escrow_id", "id"))
    seller_id: str
    status: str = Field(
        description="awaiting_funds | held | disputed | released | transferred | refunded | canceled"
    )
    gross: int = Field(description="The seller's lines, minor units")
    fee: int = Field(description="The platform's fee on what the escrow keeps, minor units")
    net: int = Field(description="What the seller receives: what is kept (gross - refunded) - fee")
    refunded: FundingOut = Field(description="What went back to the buyer (or a chargeback), by source")
    held_at: datetime | None
    released_at: datetime | None
    release_reason: str | None = Field(description="delivery_confirmed | auto_release | dispute_resolved")
    stripe_transfer_ids: list[str]


class OrderOut(BaseModel):
    """The whole order for its buyer and staff; a seller of the order sees only their lines and
    escrow, and `amount_due`, `payment_intent_id` and `funding` are null for them."""

    order_id: str
    status: str = Field(description="awaiting_payment | paid | canceled")
    currency: str
    total: int
    amount_due: int | None = Field(description="What the card must still pay, minor units")
    payment_intent_id: str | None
    client_secret: str | None = Field(
        default=None, description="For Stripe Elements; only in the answer to the checkout request"
    )
    funding: FundingOut | None
    lines: list[OrderLineOut]
    escrows: list[EscrowOut]
    created_at: datetime
    paid_at: datetime | None
    canceled_at: datetime | None


class OrderSummaryOut(BaseModel):
    order_id: str = Field(validation_alias=AliasChoices("order_id", "id"))
    status: str
    currency: str
    total: int
    amount_due: int
    funding: FundingOut
    lines: list[OrderLineOut]
    created_at: datetime
    paid_at: datetime | None
    canceled_at: datetime | None


class OrderList(BaseModel):
    data: list[OrderSummaryOut]
    has_more: bool


class DeliveryOut(BaseModel):
    """The escrows the confirmation was about, as they are after it."""

    order_id: str
    escrows: list[EscrowOut]


class SellerTransferOut(BaseModel):
    transfer_id: str = Field(validation_alias=AliasChoices("transfer_id", "id"))
    escrow_id: str
    order_id: str
    seller_id: str
    part: str = Field(description="card (from the order's charge) | balance (from the platform's balance)")
    amount: int
    currency: str
    status: str = Field(description="pending | awaiting_destination | awaiting_funds | transferred | failed")
    attempt: int
    destination: str | None
    source_transaction: str | None
    stripe_transfer_id: str | None
    amount_reversed: int
    failure_code: str | None
    failure_message: str | None
    created_at: datetime
    updated_at: datetime


class SellerTransferList(BaseModel):
    data: list[SellerTransferOut]
    has_more: bool
