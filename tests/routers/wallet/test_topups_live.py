"""Top-ups end to end: the service under uvicorn, the real SDK, the emulator signing and
delivering webhooks over HTTP, and the webhook worker crediting the wallet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import stripe

from app.adapters.stripe_adapter import StripeAdapter
from app.auth import Role
from app.config import Settings
from app.db import Collections, Database
from tests.conftest import TokenFactory, bearer, eventually_found
from tests.money_invariants import assert_money_invariants

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(live_settings: Settings) -> Settings:
    return live_settings


@pytest.fixture
async def api(live_service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_service, timeout=30) as client:
        yield client


@pytest.fixture
async def late_balance_transactions(emulator: EmulatorServer) -> AsyncIterator[None]:
    """A charge's balance transaction arrives only when the test posts it, never by a timer first."""
    previous = await emulator.inspect_async("config")
    await emulator.control_async("config", processing_delay_seconds=None)
    try:
        yield
    finally:
        await emulator.control_async("config", processing_delay_seconds=previous["processing_delay_seconds"])


async def request_topup(
    api: httpx.AsyncClient, headers: dict[str, str], amount: int, key: str
) -> httpx.Response:
    return await api.post(
        "/wallet/topup_request",
        json={"amount": amount, "currency": "usd"},
        headers={**headers, "Idempotency-Key": key},
    )


async def confirm(emulator: EmulatorServer, topup: dict[str, Any], payment_method: str) -> httpx.Response:
    """The buyer confirms in the browser, as Stripe.js does: publishable key and client secret."""
    headers = {"Authorization": f"Bearer {emulator.settings.publishable_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as stripe_js:
        return await stripe_js.post(
            f"/v1/payment_intents/{topup['payment_intent_id']}/confirm",
            data={"client_secret": topup["client_secret"], "payment_method": payment_method},
        )


async def wallet(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get("/wallet", headers=headers)).json()
    return body


async def test_a_card_topup_is_credited_once_however_often_stripe_says_so(
    api: httpx.AsyncClient,
    emulator: EmulatorServer,
    database: Database,
    token: TokenFactory,
    settings: Settings,
    late_balance_transactions: None,
) -> None:
    buyer = bearer(token("buyer-1", Role.BUYER))
    requested = await request_topup(api, buyer, 2500, "topup-key-1")
    replayed = await request_topup(api, buyer, 2500, "topup-key-1")

    assert requested.status_code == 201, requested.text
    topup = requested.json()
    assert topup["client_secret"].startswith(f"{topup['payment_intent_id']}_secret_")
    assert (topup["amount"], topup["currency"], topup["status"]) == (2500, "usd", "requires_payment")
    assert replayed.json() == topup
    assert replayed.headers["idempotent-replayed"] == "true"
    assert (await wallet(api, buyer))["pending_topups"] == 2500

    assert (await confirm(emulator, topup, "pm_card_visa")).status_code == 200
    await eventually_found(database, Collections.TOPUPS, {"_id": topup["topup_id"], "status": "succeeded"})
    succeeded = emulator.events("payment_intent.succeeded")[0]
    await emulator.control_async(f"events/{succeeded['id']}/deliver", times=5, wait=True)

    assert await database[Collections.WEBHOOK_EVENTS].count_documents({"_id": succeeded["id"]}) == 1
    balances = await wallet(api, buyer)
    assert (balances["platform_balance"], balances["pending_topups"]) == (2500, 0)
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "topup"}) == 1
    intents = [pi async for pi in await _all_payment_intents(emulator)]
    assert [pi.id for pi in intents] == [topup["payment_intent_id"]]
    status = await api.get(f"/wallet/topups/{topup['topup_id']}", headers=buyer)
    assert status.json()["status"] == "succeeded"

    charge = (
        await emulator.stripe_client().v1.payment_intents.retrieve_async(topup["payment_intent_id"])
    ).latest_charge
    await emulator.control_async(f"charges/{charge}/balance_transaction")  # Stripe's late balance transaction
    await eventually_found(database, Collections.JOURNAL_ENTRIES, {"kind": "stripe_fee"})
    provider = StripeAdapter(settings)
    try:
        await assert_money_invariants(database, provider)
    finally:
        await provider.close()


async def _all_payment_intents(emulator: EmulatorServer) -> AsyncIterator[stripe.PaymentIntent]:
    page = await emulator.stripe_client().v1.payment_intents.list_async({"limit": 100})
    return page.auto_paging_iter()


async def test_a_declined_card_credits_nothing_and_the_topup_fails(
    api: httpx.AsyncClient, emulator: EmulatorServer, database: Database, token: TokenFactory
) -> None:
    buyer = bearer(token("buyer-2", Role.BUYER))
    topup = (await request_topup(api, buyer, 1000, "topup-key-2")).json()

    declined = await confirm(emulator, topup, "pm_card_chargeDeclined")
    assert (declined.status_code, declined.json()["error"]["code"]) == (402, "card_declined")

    await eventually_found(database, Collections.TOPUPS, {"_id": topup["topup_id"], "status": "failed"})
    balances = await wallet(api, buyer)
    assert (balances["platform_balance"], balances["pending_topups"]) == (0, 0)
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({}) == 0


async def test_concurrent_topup_requests_with_one_key_make_one_payment_intent(
    api: httpx.AsyncClient, emulator: EmulatorServer, token: TokenFactory
) -> None:
    buyer = bearer(token("buyer-3", Role.BUYER))
    responses = await asyncio.gather(*(request_topup(api, buyer, 1500, "topup-key-3") for _ in range(5)))

    created = [r for r in responses if r.status_code == 201]
    assert created
    assert {r.json()["payment_intent_id"] for r in created} == {created[0].json()["payment_intent_id"]}
    assert all(r.status_code in (201, 409) for r in responses)
    intents = [pi async for pi in await _all_payment_intents(emulator)]
    assert len(intents) == 1
