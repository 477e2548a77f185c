from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.payment_provider import WebhookEvent
from app.auth import Role
from app.config import Settings
from app.db import Database
from app.domain.webhooks import Outcome
from app.routers.dependencies import get_webhook_processor
from app.services.webhooks import WebhookInbox, drain
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TokenFactory, bearer, make_settings
from tests.services.webhooks.support import deliver, inbox_for, policy, processor
from tests.stripe_events import account_updated, connected_account, stripe_event, stripe_object


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    return make_settings(mongodb_uri, webhook_worker_enabled=False)


@pytest.fixture
def inbox(database: Database, settings: Settings) -> WebhookInbox:
    return inbox_for(database, settings)


@pytest.fixture
def admin(token: TokenFactory) -> dict[str, str]:
    return bearer(token("admin-1", Role.ADMIN))


async def test_admin_routes_need_a_token_and_the_admin_role(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    buyer = bearer(token("buyer-1", Role.BUYER))
    support = bearer(token("support-1", Role.SUPPORT))

    assert (await client.get("/admin/webhook-events")).status_code == 401
    assert (await client.get("/admin/webhook-events/evt_1")).status_code == 401
    assert (await client.post("/admin/webhook-events/evt_1/replay")).status_code == 401
    forbidden = await client.get("/admin/webhook-events", headers=buyer)
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"
    assert (await client.post("/admin/webhook-events/evt_1/replay", headers=buyer)).status_code == 403
    assert (await client.get("/admin/webhook-events", headers=support)).status_code == 200
    assert (await client.post("/admin/webhook-events/evt_1/replay", headers=support)).status_code == 403


async def test_a_dead_lettered_event_is_listed_and_replays_once_fixed(
    app: FastAPI,
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    inbox: WebhookInbox,
    admin: dict[str, str],
) -> None:
    broken = True
    handled: list[str] = []

    async def handler(event: WebhookEvent) -> None:
        if broken:
            raise RuntimeError("the handler has a bug")
        handled.append(event.id)

    worker = processor(database, {"account.updated": handler}, retry=policy(max_attempts=3))
    app.dependency_overrides[get_webhook_processor] = lambda: worker
    receipt = await deliver(inbox, account_updated(connected_account()))
    outcomes = await drain(worker)  # each retry is due at once (no backoff here)
    assert [o.outcome for o in outcomes][-1] is Outcome.DEAD_LETTERED

    listed = (
        await client.get("/admin/webhook-events", params={"status": "dead_letter"}, headers=admin)
    ).json()
    assert [e["id"] for e in listed["data"]] == [receipt.event_id]
    assert listed["data"][0]["attempts"] == 3
    assert listed["data"][0]["last_error"] == "RuntimeError: the handler has a bug"

    broken = False
    replay = await client.post(f"/admin/webhook-events/{receipt.event_id}/replay", headers=admin)
    assert replay.status_code == 200, replay.text
    assert replay.json()["outcome"] == "processed"
    assert replay.json()["event"]["status"] == "processed"
    assert handled == [receipt.event_id]
    again = await client.post(f"/admin/webhook-events/{receipt.event_id}/replay", headers=admin)
    assert again.json()["event"]["status"] == "processed"
    assert await worker.process_due() == []


async def test_one_event_is_shown_with_its_payload_or_not_found(
    client: httpx.AsyncClient, inbox: WebhookInbox, admin: dict[str, str]
) -> None:
    event = account_updated(connected_account(metadata={"seller_id": "seller-1"}))
    await deliver(inbox, event)

    shown = (await client.get(f"/admin/webhook-events/{event['id']}", headers=admin)).json()
    missing = await client.get("/admin/webhook-events/evt_missing", headers=admin)
    replay_missing = await client.post("/admin/webhook-events/evt_missing/replay", headers=admin)

    assert shown["payload"] == event
    assert shown["normalized"]["refs"] == {"seller_id": "seller-1"}
    assert shown["account"] == event["account"]
    assert shown["status"] == "pending"
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (replay_missing.status_code, replay_missing.json()["code"]) == (404, "not_found")


async def test_the_list_filters_and_pages_newest_first(
    client: httpx.AsyncClient, inbox: WebhookInbox, admin: dict[str, str]
) -> None:
    accounts = [connected_account() for _ in range(2)]
    ids = [(await deliver(inbox, account_updated(accounts[i % 2]))).event_id for i in range(5)]
    intent = stripe_event("payment_intent.succeeded", stripe_object("payment_intent"))
    ids.append((await deliver(inbox, intent, PLATFORM_WEBHOOK_SECRET)).event_id)
    newest_first = ids[::-1]

    async def page(**params: Any) -> dict[str, Any]:
        response = await client.get("/admin/webhook-events", params=params, headers=admin)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    collected: list[str] = []
    cursor: dict[str, Any] = {}
    while True:
        body = await page(limit=2, **cursor)
        collected += [e["id"] for e in body["data"]]
        if not body["has_more"]:
            break
        cursor = {"starting_after": collected[-1]}
    assert collected == newest_first

    by_type = await page(type="payment_intent.succeeded")
    assert [e["id"] for e in by_type["data"]] == [intent["id"]]
    by_account = await page(account=accounts[0]["id"])
    assert [e["id"] for e in by_account["data"]] == [ids[4], ids[2], ids[0]]
    assert (await page(status="processed"))["data"] == []
    bad_status = await client.get("/admin/webhook-events", params={"status": "nope"}, headers=admin)
    assert bad_status.status_code == 422
    bad_cursor = await client.get("/admin/webhook-events", params={"starting_after": "evt_x"}, headers=admin)
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (404, "unknown_cursor")
