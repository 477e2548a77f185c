"""Responses of the Stripe webhook endpoint and of the admin view of stored events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator

from app.domain.webhooks import EventStatus, Outcome


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
