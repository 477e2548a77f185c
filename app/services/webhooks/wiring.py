"""The one place that lists the domain modules handling webhooks and builds the processor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from app.config import Settings
from app.domain.webhook_events import RetryPolicy
from app.services import stripe_accounts
from app.services.container import Services
from app.services.wallet import webhook_handlers as wallet_webhook_handlers
from app.services.webhooks.processor import WebhookProcessor
from app.services.webhooks.registry import HandlerRegistry, WebhookContext

# Each domain module that handles Stripe events adds its `register_webhook_handlers` here.
HANDLER_MODULES: tuple[Callable[[HandlerRegistry], None], ...] = (
    stripe_accounts.register_webhook_handlers,
    wallet_webhook_handlers.register_webhook_handlers,
)


def default_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for register_webhook_handlers in HANDLER_MODULES:
        register_webhook_handlers(registry)
    return registry


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_delay=timedelta(seconds=settings.webhook_retry_base_seconds),
        max_delay=timedelta(seconds=settings.webhook_retry_max_seconds),
        claim_ttl=timedelta(seconds=settings.webhook_claim_seconds),
    )


def build_processor(services: Services) -> WebhookProcessor:
    context = WebhookContext(services=services)
    return WebhookProcessor(services.database, default_registry(), context, retry_policy(services.settings))
