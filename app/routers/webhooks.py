"""Stripe webhooks: the endpoint Stripe posts to (its signature is its only credential), and the
admin view of stored events (list, inspect, replay; reading is also allowed to support)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request

from app.auth import Principal, Role
from app.domain.webhooks import EventStatus
from app.problems import PROBLEM_JSON
from app.routers.dependencies import (
    WebhookEventsDep,
    WebhookInboxDep,
    WebhookProcessorDep,
    require_roles,
)
from app.schemas.webhooks import (
    ReplayResult,
    WebhookEventDetail,
    WebhookEventList,
    WebhookEventSummary,
    WebhookReceipt,
)
from app.services.webhooks import EventFilter

log = structlog.get_logger(__name__)

router = APIRouter()
admin = APIRouter(prefix="/admin/webhook-events", tags=["admin"])

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
EventId = Annotated[str, Path(min_length=1, max_length=255)]

_REJECTION = {
    "description": "Missing, malformed, wrong or stale signature (`invalid_signature`), a body that "
    "is not a Stripe event (`invalid_webhook_payload`), or an event of the other Stripe mode "
    "(`livemode_mismatch`). Nothing is stored.",
    "content": {PROBLEM_JSON: {}},
}


@router.post(
    "/webhooks/stripe",
    tags=["webhooks"],
    summary="Receive a Stripe event (platform or Connect endpoint)",
    responses={400: _REJECTION},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        }
    },
)
async def receive_stripe_event(
    request: Request,
    inbox: WebhookInboxDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookReceipt:
    """Verifies the signature against both endpoint secrets and stores the event once.

    A repeat delivery of a stored event is answered 200 too, and changes nothing.
    """
    receipt = await inbox.receive(await request.body(), stripe_signature)
    return WebhookReceipt(received=True, event_id=receipt.event_id, duplicate=receipt.duplicate)


@admin.get("", summary="List stored webhook events, newest first")
async def list_webhook_events(
    _: Reader,
    events: WebhookEventsDep,
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
    page = await events.page(
        EventFilter(status=status, type=event_type, account=account), limit, starting_after
    )
    return WebhookEventList(
        data=[WebhookEventSummary.model_validate(event, from_attributes=True) for event in page.data],
        has_more=page.has_more,
    )


@admin.get("/{event_id}", summary="One stored webhook event with its raw payload")
async def get_webhook_event(_: Reader, events: WebhookEventsDep, event_id: EventId) -> WebhookEventDetail:
    return WebhookEventDetail.model_validate(await events.get(event_id), from_attributes=True)


@admin.post("/{event_id}/replay", summary="Run the event's handlers again now")
async def replay_webhook_event(
    admin_user: Admin, events: WebhookEventsDep, event_id: EventId, processor: WebhookProcessorDep
) -> ReplayResult:
    """Handlers are idempotent, so replaying an event already processed changes nothing."""
    outcome = await processor.replay(event_id, admin_user.actor)
    log.info("webhook_replay_requested", event_id=event_id, admin=admin_user.user_id, outcome=outcome.outcome)
    event = WebhookEventDetail.model_validate(await events.get(event_id), from_attributes=True)
    return ReplayResult(outcome=outcome.outcome, event=event)


router.include_router(admin)
