"""Responses of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.domain.audit import ActorKind


class ActorOut(BaseModel):
    kind: ActorKind
    id: str = Field(description="A user id, a job's name, or the Stripe event id behind a webhook change")


class AuditObjectOut(BaseModel):
    type: str = Field(examples=["topup"])
    id: str


class AuditRecordOut(BaseModel):
    id: str
    seq: int = Field(description="Place in the hash chain: 1, 2, 3… without gaps")
    at: datetime = Field(description="When the change was made")
    actor: ActorOut
    action: str = Field(examples=["topup.status_changed"])
    object: AuditObjectOut
    before: dict[str, Any] | None = Field(description="The object's audited fields before the change")
    after: dict[str, Any] | None = Field(description="The same fields after the change")
    request_id: str | None = Field(description="The HTTP request that made the change, if one did")
    prev_hash: str = Field(description="`hash` of record seq - 1 (64 zeros for record 1)")
    hash: str = Field(description="SHA-256 of this record's canonical form (see app/domain/audit.py)")


class AuditRecordList(BaseModel):
    data: list[AuditRecordOut]
    has_more: bool
