"""The FastAPI application: wiring only. Run with `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings, get_settings
from app.db import connect, ensure_indexes, require_transaction_support
from app.observability import RequestContextMiddleware, configure_logging
from app.problems import install_problem_handlers
from app.routers import admin_webhooks, health, wallet, webhooks
from app.services.container import Services
from app.services.webhooks.intake import WebhookInbox
from app.services.webhooks.wiring import build_processor
from app.services.webhooks.worker import background_worker

log = structlog.get_logger(__name__)

DESCRIPTION = """Payments backend of the marketplace on Stripe Connect.

Money is always `{"amount": <integer minor units>, "currency": "<iso lowercase>"}`.
Errors are RFC 9457 `application/problem+json` with a stable `code`.
Every money-moving POST requires an `Idempotency-Key` header.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = connect(settings.mongodb_uri, settings.mongodb_database)
        payments = StripeAdapter(settings)
        try:
            await require_transaction_support(database)
            await ensure_indexes(database)
            app.state.services = Services.build(database, settings, payments)
            app.state.webhook_inbox = WebhookInbox(database, settings)
            app.state.webhook_processor = build_processor(app.state.services)
            log.info("service_started", database=settings.mongodb_database)
            async with background_worker(app.state.webhook_processor, settings):
                yield
        finally:
            await payments.close()
            await database.close()

    configure_logging(settings.log_level)
    app = FastAPI(title="Marketplace payments", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(admin_webhooks.router)
    app.include_router(wallet.router)
    return app
