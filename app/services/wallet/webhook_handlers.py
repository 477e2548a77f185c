"""Stripe events that settle wallet top-ups."""

from __future__ import annotations

from app.domain.topups import TOPUP_PURPOSE, TopupStatus
from app.domain.webhook_events import WebhookEvent
from app.services.webhooks.registry import HandlerRegistry, WebhookContext


def _is_topup(event: WebhookEvent) -> bool:
    metadata = event.data_object.get("metadata") or {}
    return event.account is None and metadata.get("purpose") == TOPUP_PURPOSE


async def on_payment_intent_succeeded(context: WebhookContext, event: WebhookEvent) -> None:
    if _is_topup(event):
        await context.services.topups.credit(dict(event.data_object))


async def on_payment_intent_payment_failed(context: WebhookContext, event: WebhookEvent) -> None:
    if _is_topup(event):
        await context.services.topups.settle_unpaid(dict(event.data_object), TopupStatus.FAILED)


async def on_payment_intent_canceled(context: WebhookContext, event: WebhookEvent) -> None:
    if _is_topup(event):
        await context.services.topups.settle_unpaid(dict(event.data_object), TopupStatus.CANCELED)


def register_webhook_handlers(registry: HandlerRegistry) -> None:
    registry.register("payment_intent.succeeded", on_payment_intent_succeeded)
    registry.register("payment_intent.payment_failed", on_payment_intent_payment_failed)
    registry.register("payment_intent.canceled", on_payment_intent_canceled)
