"""Running the processor continuously: inside the HTTP service, or alone from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from app.background import stop_background_tasks
from app.config import Settings
from app.services.webhooks.processor import EventOutcome, WebhookProcessor

log = structlog.get_logger(__name__)

BATCH_SIZE = 20


class WebhookWorker:
    def __init__(self, processor: WebhookProcessor, poll_seconds: float) -> None:
        self._processor = processor
        self._poll_seconds = poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        """Process due events until `stop` is set, resting `poll_seconds` whenever none are due."""
        log.info("webhook_worker_started", worker=self._processor.worker_id)
        while not stop.is_set():
            try:
                busy = bool(await self._processor.process_due(limit=BATCH_SIZE))
            except Exception:
                # The worker outlives a database outage; the events wait in MongoDB.
                log.exception("webhook_worker_error", worker=self._processor.worker_id)
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_seconds)
        log.info("webhook_worker_stopped", worker=self._processor.worker_id)


@contextlib.asynccontextmanager
async def background_worker(processor: WebhookProcessor, settings: Settings) -> AsyncIterator[None]:
    """Run a worker as a task of the current event loop while the block runs, if enabled."""
    if not settings.webhook_worker_enabled:
        yield
        return
    stop = asyncio.Event()
    worker = WebhookWorker(processor, settings.webhook_poll_seconds)
    task = asyncio.create_task(worker.run(stop), name="webhook-worker")
    try:
        yield
    finally:
        # Cancelled mid-handler, the event's claim lapses and a worker redoes it (handlers are idempotent).
        await stop_background_tasks(stop, [task])


async def drain(processor: WebhookProcessor) -> list[EventOutcome]:
    """Process events until none is due."""
    outcomes: list[EventOutcome] = []
    while batch := await processor.process_due(limit=BATCH_SIZE):
        outcomes.extend(batch)
    return outcomes
