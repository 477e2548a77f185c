"""Idempotency-Key: replay, conflicting body, concurrent duplicate, missing key."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.services.ledger import Ledger
from tests.conftest import TokenFactory, bearer


@pytest.fixture
async def calls(app: FastAPI) -> list[int]:
    from tests.routers.dependencies.protected_routes import mount

    ledger: Ledger = app.state.services.ledger
    await ledger.post(
        entry("fund", EntryKind.TOPUP, [Move(Accounts.CARD, Accounts.buyer_wallet("alice"), 1000, "usd")])
    )
    return mount(app)


@pytest.fixture
def alice(token: TokenFactory) -> dict[str, str]:
    return bearer(token("alice", Role.BUYER))


async def test_same_key_same_body_replays_the_stored_response(
    client: httpx.AsyncClient, alice: dict[str, str], calls: list[int], app: FastAPI
) -> None:
    headers = {**alice, "Idempotency-Key": "order-1"}
    first = await client.post("/test/charges", json={"amount": 300}, headers=headers)
    second = await client.post("/test/charges", json={"amount": 300}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() == {"charged": 300, "call": 1}
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert calls == [300]
    assert await app.state.services.ledger.balance(Accounts.buyer_wallet("alice"), "usd") == 700


async def test_same_key_different_body_is_409_and_changes_nothing(
    client: httpx.AsyncClient, alice: dict[str, str], calls: list[int]
) -> None:
    headers = {**alice, "Idempotency-Key": "order-2"}
    await client.post("/test/charges", json={"amount": 300}, headers=headers)
    conflict = await client.post("/test/charges", json={"amount": 301}, headers=headers)

    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json()["code"] == "idempotency_key_reused"
    assert calls == [300]


async def test_a_key_stays_bound_to_its_first_body_after_an_unexpected_failure(
    alice: dict[str, str], calls: list[int], app: FastAPI
) -> None:
    headers = {**alice, "Idempotency-Key": "order-failover"}
    first_body = {"amount": 300, "lost_connections": 1}
    # The 500 is answered to the client, as a server would, instead of raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        lost = await client.post("/test/charges", json=first_body, headers=headers)
        other = await client.post("/test/charges", json={"amount": 900}, headers=headers)
        retried = await client.post("/test/charges", json=first_body, headers=headers)
        replayed = await client.post("/test/charges", json=first_body, headers=headers)

    assert lost.status_code == 500
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert retried.status_code == 201
    assert retried.json() == {"charged": 300, "call": 1}
    assert replayed.headers["idempotent-replayed"] == "true"
    assert calls == [300]
    assert await app.state.services.ledger.balance(Accounts.buyer_wallet("alice"), "usd") == 700


async def test_concurrent_duplicates_run_once_and_the_other_is_told_to_retry(
    client: httpx.AsyncClient, alice: dict[str, str], calls: list[int]
) -> None:
    headers = {**alice, "Idempotency-Key": "order-3"}
    body = {"amount": 100, "delay_seconds": 0.3}
    responses = await asyncio.gather(
        *(client.post("/test/charges", json=body, headers=headers) for _ in range(5))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"idempotency_request_in_flight"}
    assert calls == [100]
    replay = await client.post("/test/charges", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"


async def test_keys_belong_to_one_user(
    client: httpx.AsyncClient, token: TokenFactory, calls: list[int], app: FastAPI
) -> None:
    ledger: Ledger = app.state.services.ledger
    await ledger.post(
        entry("fund-bob", EntryKind.TOPUP, [Move(Accounts.CARD, Accounts.buyer_wallet("bob"), 500, "usd")])
    )
    for user in ("alice", "bob"):
        response = await client.post(
            "/test/charges",
            json={"amount": 50},
            headers={**bearer(token(user, Role.BUYER)), "Idempotency-Key": "same"},
        )
        assert response.status_code == 201
    assert calls == [50, 50]


async def test_a_refusal_is_stored_and_replayed_too(
    client: httpx.AsyncClient, alice: dict[str, str], calls: list[int]
) -> None:
    headers = {**alice, "Idempotency-Key": "too-much"}
    first = await client.post("/test/charges", json={"amount": 5000}, headers=headers)
    second = await client.post("/test/charges", json={"amount": 5000}, headers=headers)

    assert first.status_code == second.status_code == 409
    assert first.json()["code"] == second.json()["code"] == "insufficient_funds"
    assert second.headers["content-type"] == "application/problem+json"
    assert second.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", [None, "", "x" * 256, "has space"])
async def test_a_missing_or_malformed_key_is_a_validation_error(
    client: httpx.AsyncClient, alice: dict[str, str], calls: list[int], key: str | None
) -> None:
    headers = dict(alice) if key is None else {**alice, "Idempotency-Key": key}
    response = await client.post("/test/charges", json={"amount": 10}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert calls == []
