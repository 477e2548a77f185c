"""POST /webhooks/stripe: authenticated by Stripe's signature alone; stores, never processes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from app.problems import PROBLEM_JSON
from app.services.webhooks.intake import WebhookInbox

router = APIRouter(tags=["webhooks"])


class WebhookReceipt(BaseModel):
    received: bool
    event_id: str
    duplicate: bool


def get_webhook_inbox(request: Request) -> WebhookInbox:
    inbox: WebhookInbox = request.app.state.webhook_inbox
    return inbox


_REJECTION = {
    "description": "Missing, malformed, wrong or stale signature (`invalid_signature`), a body that "
    "is not a Stripe event (`invalid_webhook_payload`), or an event of the other Stripe mode "
    "(`livemode_mismatch`). Nothing is stored.",
    "content": {PROBLEM_JSON: {}},
}


@router.post(
    "/webhooks/stripe",
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
    inbox: Annotated[WebhookInbox, Depends(get_webhook_inbox)],
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookReceipt:
    """Verifies the signature against both endpoint secrets and stores the event once.

    A repeat delivery of a stored event is answered 200 too, and changes nothing.
    """
    receipt = await inbox.receive(await request.body(), stripe_signature)
    return WebhookReceipt(received=True, event_id=receipt.event_id, duplicate=receipt.duplicate)
