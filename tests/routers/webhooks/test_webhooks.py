import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY

from app.config import Settings
from app.db import Collections, Database
from app.domain.webhooks import EventStatus, Outcome
from tests.conftest import CONNECT_WEBHOOK_SECRET, PLATFORM_WEBHOOK_SECRET, make_settings
from tests.services.webhooks.support import RecordingHandler, processor
from tests.stripe_events import (
    JsonObject,
    account_updated,
    connected_account,
    signature_header,
    signed_delivery,
    stripe_event,
    stripe_object,
)

Delivery = tuple[bytes, dict[str, str]]


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    # The tests drive processing themselves.
    return make_settings(mongodb_uri, webhook_worker_enabled=False)


def platform_event() -> JsonObject:
    intent = stripe_object("payment_intent", metadata={"order_id": "order-1", "note": "not ours"})
    return stripe_event("payment_intent.succeeded", intent)


def connect_event() -> JsonObject:
    return account_updated(connected_account(metadata={"seller_id": "seller-1"}))


def signed_with(secret: str, make: Callable[[], JsonObject]) -> Callable[[], Delivery]:
    return lambda: signed_delivery(make(), secret)


def wrong_secret() -> Delivery:
    return signed_delivery(connect_event(), "whsec_someone_else")


def tampered_body() -> Delivery:
    body, headers = signed_delivery(connect_event(), CONNECT_WEBHOOK_SECRET)
    tampered = body.replace(b'"charges_enabled": false', b'"charges_enabled": true')
    assert tampered != body
    return tampered, headers


def stale_timestamp() -> Delivery:
    return signed_delivery(connect_event(), CONNECT_WEBHOOK_SECRET, timestamp=int(time.time()) - 301)


def missing_header() -> Delivery:
    body, _ = signed_delivery(connect_event(), CONNECT_WEBHOOK_SECRET)
    return body, {"Content-Type": "application/json"}


def garbage_header() -> Delivery:
    body, _ = signed_delivery(connect_event(), CONNECT_WEBHOOK_SECRET)
    return body, {"Content-Type": "application/json", "Stripe-Signature": "t=soon,v1=nonsense,,=="}


@pytest.mark.parametrize(
    ("delivery", "refusal"),
    [
        pytest.param(signed_with(PLATFORM_WEBHOOK_SECRET, platform_event), None, id="platform-secret"),
        pytest.param(signed_with(CONNECT_WEBHOOK_SECRET, connect_event), None, id="connect-secret"),
        pytest.param(wrong_secret, (400, "invalid_signature"), id="wrong-secret"),
        pytest.param(tampered_body, (400, "invalid_signature"), id="tampered-body"),
        pytest.param(stale_timestamp, (400, "invalid_signature"), id="stale-timestamp"),
        # A required header that is absent is a request that is not valid, as for any route.
        pytest.param(missing_header, (422, "validation_error"), id="missing-header"),
        pytest.param(garbage_header, (400, "invalid_signature"), id="garbage-header"),
    ],
)
async def test_only_correctly_signed_recent_deliveries_are_stored(
    client: httpx.AsyncClient,
    database: Database,
    delivery: Callable[[], Delivery],
    refusal: tuple[int, str] | None,
) -> None:
    body, headers = delivery()

    response = await client.post("/webhooks/stripe", content=body, headers=headers)

    count = await database[Collections.WEBHOOK_EVENTS].count_documents({})
    if refusal is None:
        assert response.status_code == 200, response.text
        assert response.json() == {"received": True, "event_id": json.loads(body)["id"], "duplicate": False}
        assert count == 1
    else:
        assert (response.status_code, response.json()["code"]) == refusal
        assert response.headers["content-type"] == "application/problem+json"
        assert count == 0


async def test_a_stored_event_keeps_its_raw_payload_and_a_normalized_record(
    client: httpx.AsyncClient, database: Database
) -> None:
    event = platform_event()
    body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)

    await client.post("/webhooks/stripe", content=body, headers=headers)

    document = await database[Collections.WEBHOOK_EVENTS].find_one({"_id": event["id"]})
    assert document is not None
    assert document["payload"] == body.decode()
    assert document["type"] == "payment_intent.succeeded"
    assert document["account"] is None
    assert document["endpoint"] == "platform"
    assert document["created"] == datetime.fromtimestamp(event["created"], UTC)
    assert document["livemode"] is False
    assert document["status"] == EventStatus.PENDING
    assert document["attempts"] == 0
    assert document["last_error"] is None
    assert document["next_attempt_at"] == document["received_at"]
    intent = event["data"]["object"]
    assert document["normalized"] == {
        "event_type": "payment_intent.succeeded",
        "object_type": "payment_intent",
        "object_id": intent["id"],
        "account": None,
        "amount": intent["amount"],
        "currency": intent["currency"],
        "refs": {"order_id": "order-1"},
    }


async def test_an_event_of_the_other_stripe_mode_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    event = stripe_event("account.updated", connected_account(), livemode=True)
    body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)

    response = await client.post("/webhooks/stripe", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "livemode_mismatch"
    assert await database[Collections.WEBHOOK_EVENTS].count_documents({}) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"object": "list", "data": []}', "invalid_webhook_payload"),
        (b"not json", "invalid_webhook_payload"),
        (b"\xff\xfe", "invalid_signature"),  # not UTF-8: Stripe never signs such a body
    ],
)
async def test_a_signed_body_that_is_not_an_event_is_refused(
    client: httpx.AsyncClient, database: Database, body: bytes, code: str
) -> None:
    header = signature_header(body.decode("latin-1"), PLATFORM_WEBHOOK_SECRET)

    response = await client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": header})

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert await database[Collections.WEBHOOK_EVENTS].count_documents({}) == 0


async def test_ten_concurrent_deliveries_of_one_event_are_stored_once_and_handled_once(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    event = connect_event()
    body, headers = signed_delivery(event, CONNECT_WEBHOOK_SECRET)

    responses = await asyncio.gather(
        *(client.post("/webhooks/stripe", content=body, headers=headers) for _ in range(10))
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    assert await database[Collections.WEBHOOK_EVENTS].count_documents({}) == 1
    handler = RecordingHandler()
    workers = [processor(database, {"account.updated": handler}) for _ in range(3)]
    outcomes = await asyncio.gather(*(worker.process_due() for worker in workers))
    assert [o.outcome for batch in outcomes for o in batch] == [Outcome.PROCESSED]
    assert handler.seen == [event["id"]]


async def test_deliveries_and_processing_are_counted_in_metrics(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = {
        "stored": sample("stripe_webhook_events_received_total", type="account.updated", result="stored"),
        "rejected": sample("stripe_webhook_deliveries_rejected_total", reason="invalid_signature"),
        "processed": sample(
            "stripe_webhook_events_processed_total", type="account.updated", outcome="processed"
        ),
        "lag": sample("stripe_webhook_processing_lag_seconds_count"),
    }
    body, headers = signed_delivery(connect_event(), CONNECT_WEBHOOK_SECRET)
    await client.post("/webhooks/stripe", content=body, headers=headers)
    await client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": "t=1,v1=00"})
    await processor(database, {"account.updated": RecordingHandler()}).process_due()

    exposed = (await client.get("/metrics")).text
    assert "stripe_webhook_processing_lag_seconds_bucket" in exposed
    assert (
        sample("stripe_webhook_events_received_total", type="account.updated", result="stored")
        == before["stored"] + 1
    )
    assert (
        sample("stripe_webhook_deliveries_rejected_total", reason="invalid_signature")
        == before["rejected"] + 1
    )
    assert (
        sample("stripe_webhook_events_processed_total", type="account.updated", outcome="processed")
        == before["processed"] + 1
    )
    assert sample("stripe_webhook_processing_lag_seconds_count") == before["lag"] + 1
