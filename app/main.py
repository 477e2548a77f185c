"""The FastAPI application: wiring only. Run with `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from app.config import Settings, get_settings
from app.container import in_service_jobs, running_services
from app.docs_assets import serve_docs
from app.observability import RequestContextMiddleware, configure_logging
from app.problems import install_problem_handlers
from app.routers import audit, config, health, wallet, webhooks
from app.services.jobs import periodic_jobs
from app.services.webhooks import background_worker

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
        async with running_services(settings) as services:
            app.state.services = services
            log.info("service_started", database=settings.mongodb_database)
            async with (
                background_worker(services.webhook_processor, settings),
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
    app.include_router(config.router)
    app.include_router(webhooks.router)
    app.include_router(wallet.router)
    app.include_router(audit.router)
    return app
