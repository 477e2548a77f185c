"""Requests and responses of disputes and chargebacks, their evidence, and their resolution."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from app.domain.disputes import DisputeReason, Outcome
from app.domain.refunds import RefundSource
from app.schemas.base import MinorUnits, RequestBody
from app.schemas.checkout import FundingOut


class OpenDisputeBody(RequestBody):
    order_id: str = Field(min_length=1, max_length=255)
    seller_id: str = Field(min_length=1, max_length=255, description="The seller whose part is disputed")
    reason: DisputeReason
    description: str = Field(min_length=1, max_length=5000)


class ResolveDisputeBody(RequestBody):
    outcome: Outcome
    refund_amount: MinorUnits | None = Field(
        default=None,
        description="With `split`: what goes back to the buyer, minor units; the rest is released",
    )
    refund_sources: list[RefundSource] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="The sources refunded first (default: card, then wallet, then legacy)",
    )
    note: str = Field(min_length=1, max_length=2000)


class EvidenceTextBody(RequestBody):
    text: str = Field(min_length=1, max_length=10_000)


class StripeEvidenceBody(RequestBody):
    """The text evidence sent to Stripe for a chargeback (Stripe's evidence field names)."""

    product_description: str | None = Field(default=None, max_length=20_000)
    customer_name: str | None = Field(default=None, max_length=5000)
    customer_email_address: str | None = Field(default=None, max_length=5000)
    customer_communication: str | None = Field(default=None, max_length=20_000)
    shipping_carrier: str | None = Field(default=None, max_length=5000)
    shipping_tracking_number: str | None = Field(default=None, max_length=5000)
    shipping_date: str | None = Field(default=None, max_length=5000)
    refund_policy_disclosure: str | None = Field(default=None, max_length=20_000)
    uncategorized_text: str | None = Field(default=None, max_length=20_000)
    submit: bool = Field(default=True, strict=True, description="Submit now (false: save for later)")


class DisputeShareOut(BaseModel):
    escrow_id: str
    seller_id: str
    amount: int = Field(description="What is at stake for this seller, minor units")
    transferred: bool = Field(description="The seller had been paid when the dispute opened")


class DisputeOut(BaseModel):
    dispute_id: str = Field(validation_alias=AliasChoices("dispute_id", "id"))
    kind: str = Field(description="buyer | chargeback")
    status: str = Field(
        description="buyer: open | resolved_refund | resolved_release | resolved_split; "
        "chargeback: Stripe's (needs_response, under_review, won, lost, ...)"
    )
    open: bool
    order_id: str | None
    buyer_id: str | None
    currency: str
    amount: int
    funding: FundingOut = Field(description="How the money at stake was paid")
    transferred: bool = Field(description="Whether the money had already been transferred to a seller")
    shares: list[DisputeShareOut]
    reason: str
    description: str | None
    stripe_dispute_id: str | None
    outcome: str | None
    note: str | None
    refund_id: str | None
    created_at: datetime
    resolved_at: datetime | None


class EvidenceOut(BaseModel):
    evidence_id: str = Field(validation_alias=AliasChoices("evidence_id", "id"))
    author_id: str
    author_role: str
    created_at: datetime
    text: str | None
    file_id: str | None
    filename: str | None
    content_type: str | None
    size: int | None


class DisputeDetailOut(DisputeOut):
    evidence: list[EvidenceOut]


class DisputeList(BaseModel):
    data: list[DisputeOut]
    has_more: bool
