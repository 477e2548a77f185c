"""Webhook delivery: events POSTed to the configured URL, signed exactly as Stripe signs them.

One worker delivers events in creation order. A failed attempt (non-2xx or connection error)
is retried in the background with exponential backoff, without holding up later events.
While paused, new events are held; the deliver endpoint sends any event at any time.
As Stripe may, the worker can send some events twice (`delivery_duplicate_rate`) and deliver up
to `delivery_reorder_window` queued events at once in random order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import httpx
import stripe

from stripe_emulator.objects import JsonObject
from stripe_emulator.settings import EmulatorSettings

_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
_TIMEOUT_SECONDS = 10.0


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return header


class WebhookDispatcher:
    def __init__(self, config: EmulatorSettings) -> None:
        self._config = config
        self.paused = False
        self.deliveries: list[JsonObject] = []
        self._held: list[JsonObject] = []
        self._queue: asyncio.Queue[JsonObject] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._random = secrets.SystemRandom()
        self._client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return self._config.webhook_url is not None

    def enqueue(self, event: JsonObject) -> None:
        if not self.enabled:
            return
        copies = 2 if self._random.random() < self._config.delivery_duplicate_rate else 1
        for _ in range(copies):
            if self.paused:
                self._held.append(event)
            else:
                self._put(event)

    def redeliver(self, event: JsonObject, times: int) -> None:
        self._release(event)
        for _ in range(times):
            self._put(event)

    async def deliver_now(self, event: JsonObject, times: int) -> list[JsonObject]:
        self._release(event)
        return [await self._deliver(event) for _ in range(times)]

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            held, self._held = self._held, []
            for event in held:
                self._put(event)

    def status(self) -> JsonObject:
        return {
            "paused": self.paused,
            "webhook_url": self._config.webhook_url,
            "held": [event["id"] for event in self._held],
            "queued": self._queue.qsize() if self._queue else 0,
            "in_flight": self._in_flight + len(self._retries),
        }

    def reset(self) -> None:
        for task in [self._worker, *self._retries]:
            if task is not None:
                task.cancel()
        self._worker, self._queue, self._in_flight = None, None, 0
        self._retries.clear()
        self._held.clear()
        self.deliveries.clear()
        self.paused = False

    async def close(self) -> None:
        self.reset()
        if self._client is not None:
            await self._client.aclose()

    def _release(self, event: JsonObject) -> None:
        self._held = [held for held in self._held if held["id"] != event["id"]]

    def _put(self, event: JsonObject) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue))
        self._queue.put_nowait(event)

    async def _work(self, queue: asyncio.Queue[JsonObject]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._config.delivery_reorder_window and not queue.empty():
                batch.append(queue.get_nowait())
            if len(batch) > 1:
                self._random.shuffle(batch)
            self._in_flight = len(batch)
            try:
                await asyncio.gather(*(self._deliver(event) for event in batch))
            finally:
                self._in_flight = 0

    async def _deliver(self, event: JsonObject) -> JsonObject:
        record = await self._attempt(event, 1)
        if not record["delivered"]:
            self._schedule_retry(event, 2)
        return record

    def _schedule_retry(self, event: JsonObject, attempt: int) -> None:
        if attempt > self._config.delivery_max_attempts:
            return
        task = asyncio.get_running_loop().create_task(self._retry(event, attempt))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, event: JsonObject, attempt: int) -> None:
        await asyncio.sleep(self._config.delivery_backoff_seconds * 2 ** (attempt - 2))
        record = await self._attempt(event, attempt)
        if not record["delivered"]:
            self._schedule_retry(event, attempt + 1)

    async def _attempt(self, event: JsonObject, attempt: int) -> JsonObject:
        url = self._config.webhook_url
        status_code: int | None = None
        error: str | None = None
        if url is None:
            error = "no webhook_url configured"
        else:
            try:
                status_code = await self._post(url, event)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                error = f"{type(exc).__name__}: {exc}"
        delivered = status_code is not None and 200 <= status_code < 300
        if delivered:
            event["pending_webhooks"] = 0
        record: JsonObject = {
            "event_id": event["id"],
            "event_type": event["type"],
            "account": event.get("account"),
            "attempt": attempt,
            "url": url,
            "status_code": status_code,
            "error": error,
            "delivered": delivered,
            "at": time.time(),
        }
        self.deliveries.append(record)
        return record

    async def _post(self, url: str, event: JsonObject) -> int:
        payload = json.dumps(event, indent=2)
        secret = self._config.connect_webhook_secret if event.get("account") else self._config.webhook_secret
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": _USER_AGENT,
            # Real time, not the emulator's clock: receivers check the timestamp against theirs.
            "Stripe-Signature": signature_header(payload, secret, int(time.time())),
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT_SECONDS)
        response = await self._client.post(url, content=payload.encode(), headers=headers)
        return response.status_code
