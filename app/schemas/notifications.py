"""Admin notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, Field


class NotificationOut(BaseModel):
    notification_id: str = Field(validation_alias=AliasChoices("notification_id", "id"))
    kind: str = Field(description="dispute.opened | chargeback.opened")
    subject_type: str
    subject_id: str
    title: str
    facts: dict[str, Any]
    created_at: datetime
    read: bool
    read_at: datetime | None
    read_by: str | None
    delivery: str | None = Field(description="To the notification URL: pending | delivered | failed")


class NotificationList(BaseModel):
    data: list[NotificationOut]
    has_more: bool
