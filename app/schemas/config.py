"""Responses of the public configuration a frontend reads before it can pay."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StripeConfigOut(BaseModel):
    publishable_key: str = Field(
        description="Stripe publishable key for Stripe.js (`pk_test_…` or `pk_live_…`)",
        examples=["pk_test_emulator"],
    )
    currency: str = Field(description="The platform currency, lowercase ISO", examples=["usd"])
