"""Responses of the seller onboarding API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.domain.onboarding import SellerStatus

# The statuses a seller with a connected account can have: the admin list's filter.
ListedStatus = Literal["onboarding", "pending_verification", "restricted", "active", "rejected"]


class OnboardingLinkOut(BaseModel):
    url: str = Field(description="Stripe's hosted onboarding; single use, send the seller there at once")
    expires_at: datetime = Field(description="After this the link sends the seller to the refresh URL")
    account_id: str = Field(description="The seller's connected Stripe account")


class SellerStatusOut(BaseModel):
    status: SellerStatus = Field(
        description="not_started | onboarding | pending_verification | restricted | active | rejected"
    )
    status_reason: str | None = Field(
        description="Why: Stripe's `disabled_reason`, or `deauthorized` when the platform lost the account"
    )
    can_receive_transfers: bool = Field(description="The account's `transfers` capability is active")
    progress: int = Field(ge=0, le=100, description="Share of the account's requirements satisfied, 0-100")
    next_step: str = Field(description="What the seller should do now, as a sentence")
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    capabilities: dict[str, str] = Field(examples=[{"transfers": "active"}])
    currently_due: list[str]
    past_due: list[str]
    eventually_due: list[str]
    pending_verification: list[str]
    disabled_reason: str | None = Field(description="Stripe's `requirements.disabled_reason`")
    current_deadline: datetime | None = Field(description="When what is currently due must be provided by")
    updated_at: datetime | None = Field(description="When the account was last read from Stripe")


class RequirementCountsOut(BaseModel):
    currently_due: int
    past_due: int
    eventually_due: int
    pending_verification: int


class SellerSummaryOut(BaseModel):
    seller_id: str | None = Field(description="None for an account whose metadata names no seller")
    account_id: str
    status: SellerStatus
    can_receive_transfers: bool
    requirement_counts: RequirementCountsOut
    created_at: datetime | None = Field(description="When Stripe created the account")
    updated_at: datetime | None = Field(description="When the account was last read from Stripe")


class SellerList(BaseModel):
    data: list[SellerSummaryOut]
    has_more: bool
