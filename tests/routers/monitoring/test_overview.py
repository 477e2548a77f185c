"""The admin overview and the gauges of `/metrics`: the figures read from the books and the
collections now, each figure with the list behind it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.db import Collections
from app.domain.ledger import Accounts, EntryKind, Move, entry
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TokenFactory, bearer
from tests.routers.wallet.test_admin_topups import open_topup, pay
from tests.services.reconciliation.support import reconcile
from tests.stripe_events import new_id, signed_delivery, stripe_event, stripe_object


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def hold_in_escrow_and_release(services: Services) -> None:
    """12.00 paid into escrow by card, 3.00 of it released to the seller and not transferred yet."""
    escrow = Accounts.escrow("order-1", "seller-1")
    await services.ledger.post(
        entry("checkout:order-1", EntryKind.CHECKOUT, [Move(Accounts.CARD, escrow, 1_200, "usd")])
    )
    await services.ledger.post(
        entry(
            "release:order-1",
            EntryKind.ESCROW_RELEASE,
            [Move(escrow, Accounts.seller_pending_transfer("seller-1"), 300, "usd")],
        )
    )


async def dead_letter(client: httpx.AsyncClient, services: Services) -> None:
    """An event stored and then moved to dead_letter, as the processor leaves one that kept failing."""
    event = stripe_event("payment_intent.created", stripe_object("payment_intent", id=new_id("pi")))
    body, headers = signed_delivery(event, PLATFORM_WEBHOOK_SECRET)
    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200
    await services.database[Collections.WEBHOOK_EVENTS].update_one(
        {"_id": event["id"]}, {"$set": {"status": "dead_letter"}, "$unset": {"next_attempt_at": ""}}
    )


async def test_staff_see_the_figures_with_the_lists_behind_them(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await hold_in_escrow_and_release(services)
    await dead_letter(client, services)
    flagged = await open_topup(services, "buyer-1", 2_000)
    await pay(client, services, flagged, "buyer-1", 1_999)
    run = await reconcile(services)

    for role in (Role.ADMIN, Role.SUPPORT):
        response = await client.get("/admin/overview", headers=bearer(token("staff", role)))
        assert response.status_code == 200, response.text
        overview = response.json()
        assert overview["escrow_held"] == {"amounts": [{"amount": 900, "currency": "usd"}]}
        assert overview["pending_transfers"] == {"amounts": [{"amount": 300, "currency": "usd"}]}
        assert overview["dead_letters"] == {"count": 1, "list": "/admin/webhook-events?status=dead_letter"}
        assert overview["topups_needing_review"] == {"count": 1, "list": "/admin/topups?status=needs_review"}
        # The top-up paid 19.99 through the test's own event: no such payment at Stripe.
        assert overview["open_discrepancies"]["count"] == run.new_discrepancies > 0
        assert overview["last_reconciliation"]["id"] == run.id
        assert overview["last_successful_reconciliation"]["id"] == run.id
        listed = await client.get(
            overview["topups_needing_review"]["list"], headers=bearer(token("staff", role))
        )
        assert [topup["topup_id"] for topup in listed.json()["data"]] == [flagged]

    buyer = await client.get("/admin/overview", headers=bearer(token("b", Role.BUYER)))
    assert (buyer.status_code, buyer.json()["code"]) == (403, "forbidden")


async def test_before_anything_happened_the_figures_are_zero(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    overview = (await client.get("/admin/overview", headers=bearer(token("staff", Role.ADMIN)))).json()

    assert overview["escrow_held"]["amounts"] == [{"amount": 0, "currency": "usd"}]
    assert overview["open_discrepancies"]["count"] == 0
    assert overview["last_reconciliation"] is None


async def test_the_gauges_are_read_from_the_books_at_each_scrape(
    client: httpx.AsyncClient, services: Services
) -> None:
    await hold_in_escrow_and_release(services)
    await dead_letter(client, services)
    await reconcile(services)

    families = {f.name: f for f in text_string_to_metric_families((await client.get("/metrics")).text)}

    def value(name: str) -> float:
        [sample] = families[name].samples
        return sample.value

    assert value("payments_escrow_held_minor_units") == 900
    assert value("payments_pending_transfers_minor_units") == 300
    assert value("payments_webhook_dead_letters") == 1
    assert value("payments_reconciliation_last_success_timestamp_seconds") > 0
