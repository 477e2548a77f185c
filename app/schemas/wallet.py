"""Requests and responses of the wallet API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from app.schemas.base import MinorUnits, RequestBody, from_settings


class TopupRequestBody(RequestBody):
    amount: MinorUnits = Field(
        examples=[2000],
        json_schema_extra=from_settings(minimum="topup_min_amount", maximum="topup_max_amount"),
    )
    currency: str = Field(
        pattern=r"^[a-z]{3}$", examples=["usd"], json_schema_extra=from_settings(enum=["platform_currency"])
    )


class TopupOut(BaseModel):
    # A top-up record's `id` is the API's `topup_id`.
    topup_id: str = Field(validation_alias=AliasChoices("topup_id", "id"))
    payment_intent_id: str | None
    client_secret: str | None = Field(description="For Stripe Elements; only in the answer to the request")
    amount: int
    currency: str
    status: str


class WalletOut(BaseModel):
    currency: str
    legacy_balance: int
    platform_balance: int
    total_balance: int
    pending_topups: int = Field(description="Sum of top-ups awaiting payment, minor units")
    legacy_wallet_status: str = Field(description="none | not_migrated | migrated | invalid")
    legacy_wallet_reason: str | None = Field(
        description="Why an `invalid` legacy wallet cannot be migrated (a reason code: `sub_cent_precision`…)"
    )
    flow: str = Field(
        description="`v2`: the new wallet (legacy and platform balances); `legacy`: the legacy balance "
        "alone, as the legacy system holds it (the `wallet_v2` feature is not enabled for this user yet)"
    )


class WalletLineOut(BaseModel):
    id: str
    source: str = Field(description="legacy | platform")
    kind: str
    amount: int = Field(description="Signed, minor units")
    currency: str
    balance_after: int
    refs: dict[str, str]
    created_at: datetime


class WalletLinesOut(BaseModel):
    data: list[WalletLineOut]
    has_more: bool


class StaffTopupOut(BaseModel):
    """A top-up as staff see it: whose it is and why it needs review."""

    topup_id: str = Field(validation_alias=AliasChoices("topup_id", "id"))
    user_id: str
    amount: int
    currency: str
    status: str = Field(description="requires_payment | succeeded | failed | canceled | needs_review")
    payment_intent_id: str | None
    review_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None


class StaffTopupList(BaseModel):
    data: list[StaffTopupOut]
    has_more: bool
