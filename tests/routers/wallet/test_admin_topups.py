"""Top-ups that need review: their own status, out of `pending_topups`, listed for staff."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.domain.money import Money
from app.services.wallet.repository import TopupRepository
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TokenFactory, bearer, make_settings
from tests.stripe_events import new_id, signed_delivery, stripe_event, stripe_object


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    return make_settings(mongodb_uri, webhook_worker_enabled=False)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def open_topup(services: Services, user_id: str, amount: int) -> str:
    """A top-up awaiting payment, opened as a top-up request opens it."""
    topup_id = new_id("tu")
    await TopupRepository(services.database).open(
        topup_id, user_id, Money(amount, "usd"), services.settings.topup_max_open_per_buyer
    )
    return topup_id


async def pay(client: httpx.AsyncClient, services: Services, topup_id: str, user_id: str, paid: int) -> None:
    intent = stripe_object(
        "payment_intent",
        id=new_id("pi"),
        amount=paid,
        amount_received=paid,
        currency="usd",
        status="succeeded",
        metadata={"topup_id": topup_id, "user_id": user_id, "purpose": "wallet_topup"},
    )
    body, headers = signed_delivery(stripe_event("payment_intent.succeeded", intent), PLATFORM_WEBHOOK_SECRET)
    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200
    await services.webhook_processor.process_due()


async def test_a_topup_paid_with_another_amount_needs_review_and_is_listed_for_staff(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    flagged = [await open_topup(services, f"buyer-{index}", 2000) for index in range(3)]
    fine = await open_topup(services, "buyer-0", 1000)
    for index, topup_id in enumerate(flagged):
        await pay(client, services, topup_id, f"buyer-{index}", 1999)
    await pay(client, services, fine, "buyer-0", 1000)
    waiting = await open_topup(services, "buyer-0", 700)
    buyer = bearer(token("buyer-0", Role.BUYER))

    shown = (await client.get(f"/wallet/topups/{flagged[0]}", headers=buyer)).json()
    wallet = (await client.get("/wallet", headers=buyer)).json()
    assert shown["status"] == "needs_review"
    assert (wallet["pending_topups"], wallet["platform_balance"]) == (700, 1000)

    for role in (Role.ADMIN, Role.SUPPORT):
        staff = bearer(token("staff", role))
        first = await client.get(
            "/admin/topups", params={"status": "needs_review", "limit": 2}, headers=staff
        )
        assert first.status_code == 200, first.text
        rest = await client.get(
            "/admin/topups",
            params={
                "status": "needs_review",
                "limit": 2,
                "starting_after": first.json()["data"][-1]["topup_id"],
            },
            headers=staff,
        )
        listed = first.json()["data"] + rest.json()["data"]
        assert (first.json()["has_more"], rest.json()["has_more"]) == (True, False)
        assert [t["topup_id"] for t in listed] == flagged[::-1]
        assert {t["status"] for t in listed} == {"needs_review"}
        assert "1999" in listed[0]["review_reason"]
        assert listed[-1]["user_id"] == "buyer-0"
    everything = await client.get("/admin/topups", headers=bearer(token("staff", Role.ADMIN)))
    assert [t["topup_id"] for t in everything.json()["data"]] == [waiting, fine, *flagged[::-1]]


async def test_only_staff_list_topups(client: httpx.AsyncClient, token: TokenFactory) -> None:
    assert (await client.get("/admin/topups")).status_code == 401
    for role in (Role.BUYER, Role.SELLER):
        response = await client.get("/admin/topups", headers=bearer(token("someone", role)))
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    bad = await client.get("/admin/topups", params={"status": "nope"}, headers=bearer(token("a", Role.ADMIN)))
    assert bad.status_code == 422
    cursor = await client.get(
        "/admin/topups", params={"starting_after": "tu_x"}, headers=bearer(token("a", Role.ADMIN))
    )
    assert (cursor.status_code, cursor.json()["code"]) == (404, "unknown_cursor")
