"""Stripe webhooks: verified intake, durable storage, and exactly-once processing by handlers.

This package imports no other domain: domains expose their handlers and the composition root
(`app.container`) registers them here.
"""

from app.services.webhooks.events import WebhookEvents
from app.services.webhooks.inbox import Receipt, WebhookInbox
from app.services.webhooks.ordering import (
    reserve_read,
    store_read,
    stored_read_fields,
    stored_ticket,
    unless_later_read_stored,
)
from app.services.webhooks.processor import EventInProgress, EventOutcome, WebhookProcessor
from app.services.webhooks.registry import HandlerRegistry, WebhookHandler, WebhookHandlers
from app.services.webhooks.repository import INDEXES, EventFilter, EventPage, StoredWebhookEvent
from app.services.webhooks.worker import WebhookWorker, background_worker, drain

__all__ = [
    "INDEXES",
    "EventFilter",
    "EventInProgress",
    "EventOutcome",
    "EventPage",
    "HandlerRegistry",
    "Receipt",
    "StoredWebhookEvent",
    "WebhookEvents",
    "WebhookHandler",
    "WebhookHandlers",
    "WebhookInbox",
    "WebhookProcessor",
    "WebhookWorker",
    "background_worker",
    "drain",
    "reserve_read",
    "store_read",
    "stored_read_fields",
    "stored_ticket",
    "unless_later_read_stored",
]
