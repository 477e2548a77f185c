"""Responses of the Stripe webhook endpoint and of the admin view of stored events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.webhooks import (
    MAX_ACCOUNT_ID_LENGTH,
    MAX_CREATED,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    MAX_OBJECT_ID_LENGTH,
    EventStatus,
    Outcome,
)
from app.schemas.base import from_settings


class StripeEventBody(BaseModel):
    """The body `POST /webhooks/stripe` accepts, for its document only: the endpoint verifies the
    signature over the raw bytes before it reads them (`app.adapters.stripe_webhooks.read_envelope`,
    which enforces exactly this). Only the envelope is checked; the object is read by its type
    when the event is handled."""

    model_config = ConfigDict(extra="allow", title="StripeEvent")

    id: str = Field(pattern=r"^evt_", max_length=MAX_EVENT_ID_LENGTH)
    object: Literal["event"]
    type: str = Field(min_length=1, max_length=MAX_EVENT_TYPE_LENGTH, examples=["payment_intent.succeeded"])
    created: int = Field(ge=0, le=MAX_CREATED, description="Unix time")
    livemode: bool = Field(json_schema_extra=from_settings(enum=["stripe_livemode"]))
    account: str | None = Field(
        default=None, max_length=MAX_ACCOUNT_ID_LENGTH, description="The connected account (Connect events)"
    )
    data: dict[str, Any] = Field(
        json_schema_extra={
            "required": ["object"],
            "properties": {
                "object": {
                    "type": "object",
                    "properties": {"id": {"type": ["string", "null"], "maxLength": MAX_OBJECT_ID_LENGTH}},
                }
            },
        }
    )


class WebhookReceipt(BaseModel):
    received: bool
    event_id: str
    duplicate: bool


class NormalizedEventView(BaseModel):
    object_type: str | None
    object_id: str | None
    account: str | None
    amount: int | None
    currency: str | None
    refs: dict[str, str]


class WebhookEventSummary(BaseModel):
    id: str
    type: str
    account: str | None
    livemode: bool
    endpoint: str
    status: EventStatus
    attempts: int
    created: datetime
    received_at: datetime
    next_attempt_at: datetime | None = None
    processed_at: datetime | None = None
    last_error: str | None = None
    normalized: NormalizedEventView


class WebhookEventDetail(WebhookEventSummary):
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    payload: dict[str, Any]

    @field_validator("payload", mode="before")
    @classmethod
    def _signed_text_as_json(cls, value: Any) -> Any:
        # Stored as the exact text Stripe signed; shown as the JSON object it is.
        return json.loads(value) if isinstance(value, str) else value


class WebhookEventList(BaseModel):
    data: list[WebhookEventSummary]
    has_more: bool


class ReplayResult(BaseModel):
    outcome: Outcome
    event: WebhookEventDetail
