"""Stripe webhooks: the endpoint Stripe posts to (its signature is its only credential), and the
admin view of stored events (list, inspect, replay; reading is also allowed to support)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request

from app.auth import Principal, Role
from app.config import Settings
from app.domain.webhooks import EventStatus, InvalidSignature, InvalidWebhookPayload, LivemodeMismatch
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import (
    WebhookEventsDep,
    WebhookInboxDep,
    WebhookProcessorDep,
    require_roles,
)
from app.schemas.webhooks import (
    ReplayResult,
    StripeEventBody,
    WebhookEventDetail,
    WebhookEventList,
    WebhookEventSummary,
    WebhookReceipt,
)
from app.services.webhooks import EventFilter, EventInProgress

log = structlog.get_logger(__name__)


class StripeWebhookRoute(ContractRoute):
    """Stripe sends events of up to a few hundred kilobytes; the endpoint reads up to its own limit."""

    def body_limit(self, settings: Settings) -> int:
        return settings.max_webhook_body_bytes


router = APIRouter(route_class=StripeWebhookRoute)
admin = APIRouter(prefix="/admin/webhook-events", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
EventId = Annotated[str, Path(min_length=1, max_length=255)]


@router.post(
    "/webhooks/stripe",
    tags=["webhooks"],
    summary="Receive a Stripe event (platform or Connect endpoint)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": StripeEventBody.model_json_schema()}},
        }
    },
)
@raises(InvalidSignature, InvalidWebhookPayload, LivemodeMismatch)
async def receive_stripe_event(
    request: Request,
    inbox: WebhookInboxDep,
    stripe_signature: Annotated[str, Header(alias="Stripe-Signature", min_length=1)],
) -> WebhookReceipt:
    """Verifies the signature against both endpoint secrets, then checks the event, and stores it
    once. A refused delivery stores nothing; a repeat delivery is answered 200 and changes nothing.
    """
    receipt = await inbox.receive(await request.body(), stripe_signature)
    return WebhookReceipt(received=True, event_id=receipt.event_id, duplicate=receipt.duplicate)


@admin.get("", summary="List stored webhook events, newest first")
@raises(UnknownCursor)
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
@raises(NotFound)
async def get_webhook_event(_: Reader, events: WebhookEventsDep, event_id: EventId) -> WebhookEventDetail:
    return WebhookEventDetail.model_validate(await events.get(event_id), from_attributes=True)


@admin.post("/{event_id}/replay", summary="Run the event's handlers again now")
@raises(NotFound, EventInProgress)
async def replay_webhook_event(
    admin_user: Admin, events: WebhookEventsDep, event_id: EventId, processor: WebhookProcessorDep
) -> ReplayResult:
    """Handlers are idempotent, so replaying an event already processed changes nothing."""
    outcome = await processor.replay(event_id, admin_user.actor)
    log.info("webhook_replay_requested", event_id=event_id, admin=admin_user.user_id, outcome=outcome.outcome)
    event = WebhookEventDetail.model_validate(await events.get(event_id), from_attributes=True)
    return ReplayResult(outcome=outcome.outcome, event=event)


router.include_router(admin)
