"""The FastAPI application: wiring only. Run with `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI

from app.config import Settings, get_settings
from app.docs_assets import serve_docs
from app.observability import RequestContextMiddleware, configure_logging
from app.problems import install_problem_handlers
from app.routers import admin_webhooks, health, wallet, webhooks
from app.services.container import Services, running_services
from app.services.jobs import PeriodicJob, periodic_jobs
from app.services.payment_operations import run_operations_janitor
from app.services.webhooks.intake import WebhookInbox
from app.services.webhooks.wiring import build_processor
from app.services.webhooks.worker import background_worker

log = structlog.get_logger(__name__)

DESCRIPTION = """Payments backend of the marketplace on Stripe Connect.

Money is always `{"amount": <integer minor units>, "currency": "<iso lowercase>"}`.
Errors are RFC 9457 `application/problem+json` with a stable `code`.
Every money-moving POST requires an `Idempotency-Key` header.
"""


def in_service_jobs(services: Services) -> list[PeriodicJob]:
    settings = services.settings
    stale_after = timedelta(seconds=settings.payment_operations_stale_after_seconds)
    return [
        PeriodicJob(
            "payment_operations_janitor",
            settings.payment_operations_janitor_interval_seconds,
            lambda: run_operations_janitor(services.database, services.payment_operations, stale_after),
        ),
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_services(settings) as services:
            app.state.services = services
            app.state.webhook_inbox = WebhookInbox(services.database, settings)
            app.state.webhook_processor = build_processor(services)
            log.info("service_started", database=settings.mongodb_database)
            async with (
                background_worker(app.state.webhook_processor, settings),
                periodic_jobs(in_service_jobs(services) if settings.jobs_enabled else []),
            ):
                yield

    configure_logging(settings.log_level)
    app = FastAPI(
        title="Marketplace payments",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_docs(app)
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(admin_webhooks.router)
    app.include_router(wallet.router)
    return app
