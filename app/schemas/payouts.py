"""Requests and responses of seller balances and payouts. Amounts are integer minor units beside
their currency; dates are ISO-8601; a failed payout says why in a sentence (`failure_reason`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.domain.payouts import PayoutOrigin, PayoutStatus
from app.schemas.base import MinorUnits, RequestBody, from_settings


class PayoutBody(RequestBody):
    seller_id: str = Field(min_length=1, max_length=255, examples=["seller_42"])
    amount: MinorUnits | None = Field(
        default=None,
        description="Minor units; everything payable when left out",
        json_schema_extra=from_settings(minimum="payout_min_amount"),
    )
    currency: str = Field(
        pattern=r"^[a-z]{3}$", examples=["usd"], json_schema_extra=from_settings(enum=["platform_currency"])
    )


class PayoutOut(BaseModel):
    payout_id: str
    seller_id: str
    status: PayoutStatus = Field(description="requested | pending | in_transit | paid | failed | canceled")
    amount: int = Field(description="Minor units")
    currency: str
    stripe_payout_id: str | None
    arrival_date: datetime | None = Field(description="When Stripe expects the money in the bank account")
    failure_code: str | None = Field(description="Stripe's code when the payout failed")
    failure_reason: str | None = Field(
        description="Why the payout failed, as a sentence; the money is back on the Stripe balance",
    )
    origin: PayoutOrigin = Field(description="api: requested here; stripe: made at Stripe directly")
    automatic: bool = Field(description="Made by Stripe's payout schedule")
    created_at: datetime
    updated_at: datetime


class PayoutList(BaseModel):
    data: list[PayoutOut]
    has_more: bool


class SellerBalanceOut(BaseModel):
    seller_id: str
    currency: str
    in_escrow: int = Field(description="Paid by buyers, held until delivery (our ledger), minor units")
    pending_transfer: int = Field(description="Released, on its way to the Stripe balance (our ledger)")
    available: int | None = Field(
        description="Available on the seller's Stripe balance; null when Stripe never answered"
    )
    pending: int | None = Field(description="On the seller's Stripe balance, not available yet")
    in_transit: int = Field(description="Payouts on their way to the bank")
    held_for_disputes: int = Field(description="Held back for open disputes and chargebacks")
    owed_to_platform: int = Field(description="What the seller owes the platform, taken from payouts first")
    open_disputes: int
    next_available_on: datetime | None = Field(description="When the next pending funds become available")
    stripe_balance_as_of: datetime | None = Field(description="When Stripe gave `available` and `pending`")
    stripe_balance_age_seconds: int | None
    stripe_balance_stale: bool = Field(
        description="Stripe did not answer in time: the last known figures, of `stripe_balance_as_of`"
    )
