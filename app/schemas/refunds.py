"""Requests and responses of refunds."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from app.domain.refunds import RefundSource
from app.schemas.base import MinorUnits, RequestBody
from app.schemas.checkout import FundingOut


class RefundOrderBody(RequestBody):
    seller_id: str = Field(min_length=1, max_length=255, description="The seller whose part is refunded")
    amount: MinorUnits | None = Field(default=None, description="Minor units; default: all the escrow keeps")
    sources: list[RefundSource] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="The sources refunded first (default: card, then wallet, then legacy)",
    )
    reason: str = Field(min_length=1, max_length=2000)


class RetryToWalletBody(RequestBody):
    note: str = Field(min_length=1, max_length=2000)


class RefundOut(BaseModel):
    refund_id: str = Field(validation_alias=AliasChoices("refund_id", "id"))
    order_id: str
    escrow_id: str
    seller_id: str
    buyer_id: str
    currency: str
    amount: int
    parts: FundingOut = Field(description="What goes back to each source")
    status: str = Field(description="pending | succeeded | failed | retried_to_wallet")
    reason: str
    dispute_id: str | None
    stripe_refund_id: str | None
    stripe_status: str | None
    failure_reason: str | None = Field(description="Why Stripe failed or refused the card part")
    created_at: datetime
    updated_at: datetime


class RefundList(BaseModel):
    data: list[RefundOut]
    has_more: bool
