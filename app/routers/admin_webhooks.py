"""Admin view of stored webhook events: list, inspect, replay. Reading also allowed to support."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from app.auth import Principal, Role, require_roles
from app.db import Document
from app.domain.webhook_events import EventStatus
from app.routers.dependencies import DatabaseDep
from app.services.webhooks.processor import Outcome, WebhookProcessor
from app.services.webhooks.store import EventFilter, WebhookEventStore

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/admin/webhook-events", tags=["admin"])

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
EventId = Annotated[str, Path(min_length=1, max_length=255)]


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

    @classmethod
    def from_document(cls, document: Document) -> WebhookEventSummary:
        return cls.model_validate({**document, "id": document["_id"]})


class WebhookEventDetail(WebhookEventSummary):
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    payload: dict[str, Any]

    @classmethod
    def from_document(cls, document: Document) -> WebhookEventDetail:
        return cls.model_validate(
            {**document, "id": document["_id"], "payload": json.loads(document["payload"])}
        )


class WebhookEventList(BaseModel):
    data: list[WebhookEventSummary]
    has_more: bool


class ReplayResult(BaseModel):
    outcome: Outcome
    event: WebhookEventDetail


def get_webhook_processor(request: Request) -> WebhookProcessor:
    processor: WebhookProcessor = request.app.state.webhook_processor
    return processor


@router.get("", summary="List stored webhook events, newest first")
async def list_webhook_events(
    _: Reader,
    database: DatabaseDep,
    status: EventStatus | None = None,
    event_type: Annotated[
        str | None, Query(alias="type", max_length=100, description="Stripe event type")
    ] = None,
    account: Annotated[str | None, Query(max_length=255, description="Connected account id")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last id of the previous page")
    ] = None,
) -> WebhookEventList:
    page = await WebhookEventStore(database).find_page(
        EventFilter(status=status, type=event_type, account=account), limit, starting_after
    )
    return WebhookEventList(
        data=[WebhookEventSummary.from_document(d) for d in page.data], has_more=page.has_more
    )


@router.get("/{event_id}", summary="One stored webhook event with its raw payload")
async def get_webhook_event(_: Reader, database: DatabaseDep, event_id: EventId) -> WebhookEventDetail:
    return WebhookEventDetail.from_document(await WebhookEventStore(database).get(event_id))


@router.post("/{event_id}/replay", summary="Run the event's handlers again now")
async def replay_webhook_event(
    admin: Admin,
    database: DatabaseDep,
    event_id: EventId,
    processor: Annotated[WebhookProcessor, Depends(get_webhook_processor)],
) -> ReplayResult:
    """Handlers are idempotent, so replaying an event already processed changes nothing."""
    outcome = await processor.replay(event_id)
    log.info("webhook_replay_requested", event_id=event_id, admin=admin.user_id, outcome=outcome.outcome)
    event = WebhookEventDetail.from_document(await WebhookEventStore(database).get(event_id))
    return ReplayResult(outcome=outcome.outcome, event=event)
