"""Bad bodies and headers: each is answered with the 4xx problem its operation documents, and
changes nothing in the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.auth import Role
from app.config import Settings
from app.db import Database
from app.main import openapi_document
from app.problems import PROBLEM_JSON
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TokenFactory, bearer
from tests.problem_contract import documented_problems
from tests.stripe_events import signature_header, stripe_event, stripe_object

KIB = 1024
TOPUP = "/wallet/topup_request"
WEBHOOK = "/webhooks/stripe"
JSON = {"Content-Type": "application/json"}


@dataclass
class Stream:
    """A body sent in chunks, without Content-Length; `pulled` counts the chunks the server read."""

    total: int
    chunk: int = 16 * KIB
    pulled: int = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        self.pulled = 0
        for _ in range(self.total // self.chunk):
            self.pulled += 1
            yield b" " * self.chunk


@dataclass(frozen=True)
class BadRequest:
    path: str
    body: bytes | Stream
    status: int
    code: str
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    buyer: bool = True
    # The field a validation error must name.
    names: tuple[str | int, ...] | None = None
    method: str = "POST"


def topup(body: object, **kwargs: Any) -> BadRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return BadRequest(TOPUP, raw, **kwargs)


def signed_webhook(payload: str, status: int, code: str) -> BadRequest:
    headers = {**JSON, "Stripe-Signature": signature_header(payload, PLATFORM_WEBHOOK_SECRET)}
    return BadRequest(WEBHOOK, payload.encode(), status, code, headers, buyer=False)


def event_with(**changes: Any) -> str:
    intent = stripe_object("payment_intent", metadata={"topup_id": "tu_1"})
    return json.dumps({**stripe_event("payment_intent.succeeded", intent), **changes})


def deep(levels: int) -> bytes:
    return b'{"amount": ' + b"[" * levels + b"]" * levels + b', "currency": "usd"}'


BAD_REQUESTS = {
    "amount-as-string": topup({"amount": "1000", "currency": "usd"}, status=422, code="validation_error", names=("body", "amount")),
    "amount-as-float": topup(b'{"amount": 1000.0, "currency": "usd"}', status=422, code="validation_error", names=("body", "amount")),
    "amount-as-boolean": topup({"amount": True, "currency": "usd"}, status=422, code="validation_error", names=("body", "amount")),
    "unknown-field": topup({"amount": 1000, "currency": "usd", "amout": 5}, status=422, code="validation_error", names=("body", "amout")),
    "missing-body": topup(b"", status=422, code="validation_error", names=("body",)),
    "malformed-json": topup(b'{"amount": 1000,', status=400, code="malformed_json"),
    "invalid-utf8": topup(b'{"amount": 1000, "currency": "us\xff"}', status=400, code="malformed_json"),
    "number-too-big": topup(b'{"amount": 1' + b"0" * 400 + b', "currency": "usd"}', status=400, code="malformed_json"),
    "number-past-64-bits": topup(b'{"amount": 18446744073709551616, "currency": "usd"}', status=400, code="malformed_json"),
    "infinite-number": topup(b'{"amount": 1e400, "currency": "usd"}', status=400, code="malformed_json"),
    "nan": topup(b'{"amount": NaN, "currency": "usd"}', status=400, code="malformed_json"),
    "duplicate-key": topup(b'{"amount": 1000, "amount": 2000, "currency": "usd"}', status=400, code="malformed_json"),
    "nested-too-deep": topup(deep(40), status=400, code="malformed_json"),
    "nested-past-the-stack": topup(deep(30_000), status=400, code="malformed_json"),
    "huge-by-content-length": topup(b" " * (64 * KIB + 1), status=413, code="request_too_large"),
    "huge-streamed": BadRequest(TOPUP, Stream(1024 * KIB), 413, "request_too_large"),
    "not-json": topup(b"amount=1000&currency=usd", status=415, code="unsupported_media_type", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    "no-content-type": topup({"amount": 1000, "currency": "usd"}, status=415, code="unsupported_media_type", headers={}),
    "bad-idempotency-key": topup({"amount": 1000, "currency": "usd"}, status=422, code="validation_error", headers={**JSON, "Idempotency-Key": "has spaces"}, names=("header", "Idempotency-Key")),
    "empty-idempotency-key": topup({"amount": 1000, "currency": "usd"}, status=422, code="validation_error", headers={**JSON, "Idempotency-Key": ""}, names=("header", "Idempotency-Key")),
    "unknown-query-parameter": BadRequest(TOPUP + "?dry_run=1", b'{"amount": 1000, "currency": "usd"}', 422, "validation_error", names=("query", "dry_run")),
    "repeated-query-parameter": BadRequest("/wallet/transactions?limit=1&limit=100", b"", 422, "validation_error", method="GET", names=("query", "limit")),
    "unknown-query-parameter-on-a-read": BadRequest("/wallet/transactions?limt=5", b"", 422, "validation_error", method="GET", names=("query", "limt")),
    "malformed-bearer": BadRequest(TOPUP, b'{"amount": 1000, "currency": "usd"}', 401, "unauthenticated", headers={**JSON, "Authorization": "Bearer not.a.jwt"}, buyer=False),
    "webhook-created-1e20-as-float": signed_webhook(event_with(created=1e20), 400, "invalid_webhook_payload"),
    "webhook-created-1e20-as-integer": signed_webhook(event_with(created=10**20), 400, "invalid_webhook_payload"),
    "webhook-created-before-1970": signed_webhook(event_with(created=-1), 400, "invalid_webhook_payload"),
    "webhook-100kb-id": signed_webhook(event_with(id="evt_" + "x" * 100 * KIB), 400, "invalid_webhook_payload"),
    "webhook-100kb-object-id": signed_webhook(event_with(data={"object": {"id": "pi_" + "x" * 100 * KIB, "object": "payment_intent"}}), 400, "invalid_webhook_payload"),
    "webhook-over-1mib": signed_webhook(event_with(padding="x" * 1024 * KIB), 413, "request_too_large"),
    "webhook-over-1mib-streamed": BadRequest(WEBHOOK, Stream(4 * 1024 * KIB, 64 * KIB), 413, "request_too_large", {**JSON, "Stripe-Signature": "t=1,v1=0"}, buyer=False),
    "webhook-not-utf8": BadRequest(WEBHOOK, b'{"id": "evt_\xff"}', 400, "invalid_signature", {**JSON, "Stripe-Signature": "t=1,v1=0"}, buyer=False),
    "webhook-without-signature": BadRequest(WEBHOOK, event_with().encode(), 422, "validation_error", buyer=False, names=("header", "Stripe-Signature")),
}  # fmt: skip

DOCUMENTED = documented_problems(openapi_document())


async def database_counts(database: Database) -> dict[str, int]:
    return {
        name: await database[name].count_documents({}) for name in await database.db.list_collection_names()
    }


@pytest.mark.parametrize("case", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
async def test_a_bad_request_gets_its_documented_problem_and_changes_nothing(
    case: BadRequest, client: httpx.AsyncClient, database: Database, settings: Settings, token: TokenFactory
) -> None:
    headers = {**case.headers}
    if case.buyer:
        headers = {"Idempotency-Key": "bad-request", **bearer(token("buyer-b", Role.BUYER)), **headers}
    content = case.body if isinstance(case.body, bytes) else case.body.chunks()
    before = await database_counts(database)

    response = await client.request(case.method, case.path, content=content, headers=headers)

    assert (response.status_code, response.headers["content-type"]) == (case.status, PROBLEM_JSON), (
        response.text
    )
    problem = response.json()
    assert (problem["status"], problem["code"]) == (case.status, case.code)
    assert (str(case.status), case.code) in DOCUMENTED[(case.path.split("?")[0], case.method)]
    if case.names is not None:
        assert case.names in [tuple(error["loc"]) for error in problem["errors"]]
    if isinstance(case.body, Stream):  # refused as the stream passed the limit: the rest was never read
        limit = settings.max_webhook_body_bytes if case.path == WEBHOOK else settings.max_request_body_bytes
        assert case.body.pulled * case.body.chunk <= limit + case.body.chunk < case.body.total
    assert await database_counts(database) == before
