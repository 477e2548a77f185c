"""Admin notifications POSTed to the marketplace's notification URL (an outside call).

The body is JSON; `X-Payments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` signs
`<t>.<body>` with the shared secret (as Stripe signs its webhooks), so the receiver can check both
who sent it and that it is fresh. A non-2xx answer or a network error raises
`NotificationNotDelivered`; retrying with backoff is the outbox's job, not this call's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Payments-Signature"


class NotificationNotDelivered(Exception):
    """The receiver did not take the notification; the outbox tries again later."""


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class NotificationSender:
    def __init__(self, url: str, secret: str, timeout_seconds: float) -> None:
        self._url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_seconds)

    async def send(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(self._secret, body, int(time.time())),
        }
        try:
            answer = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise NotificationNotDelivered(f"{type(error).__name__}: {error}") from error
        if not answer.is_success:
            raise NotificationNotDelivered(f"the receiver answered {answer.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
