"""The FastAPI application: wiring only. Run with `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import Settings, get_settings
from app.container import in_service_jobs, running_services
from app.docs_assets import serve_docs
from app.observability import RequestContextMiddleware, configure_logging
from app.openapi import PaymentsApi
from app.problems import install_problem_handlers
from app.routers import (
    audit,
    catalog,
    checkout,
    config,
    disputes,
    flags,
    health,
    migration,
    monitoring,
    notifications,
    onboarding,
    payouts,
    reconciliation,
    refunds,
    wallet,
    webhooks,
)
from app.services.jobs import periodic_jobs
from app.services.webhooks import background_worker
from app.ui import serve_ui

log = structlog.get_logger(__name__)

DESCRIPTION = """Payments backend of the marketplace on Stripe Connect.

Money is always `{"amount": <integer minor units>, "currency": "<iso lowercase>"}`.
Errors are RFC 9457 `application/problem+json` with a stable `code`; each operation lists every
status it can answer and, per status, the codes it can carry.
Every money-moving POST requires an `Idempotency-Key` header.
Request bodies are JSON of at most 64 KiB (1 MiB for Stripe webhooks, `EVIDENCE_MAX_BYTES` for
dispute evidence files); unknown fields are refused.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_services(settings) as services:
            app.state.services = services
            log.info("service_started", database=settings.mongodb_database)
            async with (
                background_worker(services.webhook_processor, settings),
                periodic_jobs(in_service_jobs(services) if settings.jobs_enabled else []),
            ):
                yield

    configure_logging(settings.log_level)
    app = PaymentsApi(
        title="Marketplace payments",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs(app)
    serve_ui(app)
    app.state.settings = settings
    install_problem_handlers(app)
    # Added last, so outermost: every log line of a request, its crash included, has its id.
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(config.router)
    app.include_router(webhooks.router)
    app.include_router(wallet.router)
    app.include_router(wallet.admin)
    app.include_router(catalog.router)
    app.include_router(checkout.router)
    app.include_router(checkout.admin)
    app.include_router(onboarding.router)
    app.include_router(onboarding.admin)
    app.include_router(disputes.router)
    app.include_router(disputes.evidence_router)
    app.include_router(disputes.admin)
    app.include_router(refunds.orders)
    app.include_router(refunds.router)
    app.include_router(notifications.router)
    app.include_router(payouts.router)
    app.include_router(audit.router)
    app.include_router(flags.router)
    app.include_router(migration.router)
    app.include_router(reconciliation.router)
    app.include_router(monitoring.router)
    return app


def openapi_document() -> dict[str, Any]:
    """The document of an app with default settings, generated without connecting to anything."""
    placeholders = Settings.model_construct(log_level="WARNING", stripe_secret_key=SecretStr("sk_test_"))
    return create_app(placeholders).openapi()
