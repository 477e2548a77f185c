"""Disputes and refunds through the real application (in process, over ASGI): the MongoDB
commands of opening a dispute (the escrow frozen, the dispute, its audit record and admin
notification in one transaction), of an admin's wallet refund, of resolving a dispute by a refund
to the wallet, of the same for a seller paid already (the platform refunds, the seller's transfer
is reversed), and of the payouts' guard (a seller's open disputes, their debt), each beside a
raw-database baseline measured in the same run: the dispute document inserted and the escrow's
status set in one plain transaction. Runs after `bench.checkout`, on its catalog and buyers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from pymongo.asynchronous.client_session import AsyncClientSession

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections
from bench import checkout
from bench.commands import CommandCounter

BUYER = "bench-buyer-2"
ADMIN = "bench-admin"


def admin_headers(services: Services) -> dict[str, str]:
    token = mint_token(services.settings, ADMIN, [Role.ADMIN])
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}


async def open_dispute(client: httpx.AsyncClient, services: Services, order_id: str) -> str:
    body = {
        "order_id": order_id,
        "seller_id": checkout.SELLERS[1],
        "reason": "damaged",
        "description": "bench",
    }
    answer = await client.post(
        "/dispute", json=body, headers=checkout.headers(services, BUYER, uuid.uuid4().hex)
    )
    assert answer.status_code == 201, answer.text
    dispute_id: str = answer.json()["dispute_id"]
    return dispute_id


async def post(client: httpx.AsyncClient, services: Services, path: str, body: dict[str, Any]) -> None:
    answer = await client.post(path, json=body, headers=admin_headers(services))
    assert answer.status_code < 300, answer.text


async def confirm(client: httpx.AsyncClient, services: Services, order_id: str) -> None:
    answer = await client.post(
        f"/orders/{order_id}/confirm-delivery",
        json={"seller_id": checkout.SELLERS[1]},
        headers=checkout.headers(services, BUYER, uuid.uuid4().hex),
    )
    assert answer.json()["escrows"][0]["status"] == "transferred", answer.text


async def raw_dispute(services: Services, order_id: str) -> None:
    """The baseline: a dispute document inserted and its escrow's status set, in one transaction."""

    async def write(session: AsyncClientSession) -> None:
        await services.database[Collections.DISPUTES].insert_one(
            {"_id": f"raw-{uuid.uuid4().hex}", "order_id": order_id, "kind": "raw"}, session=session
        )
        await services.database[Collections.ESCROWS].update_one(
            {"order_id": order_id, "seller_id": checkout.SELLERS[0]}, {"$set": {"raw": True}}, session=session
        )

    await services.database.transaction(write)


async def run(client: httpx.AsyncClient, services: Services, counter: CommandCounter) -> None:
    orders = [await checkout.checkout(client, services, BUYER) for _ in range(12)]
    disputes: list[str] = []

    async def opening(index: int) -> None:
        disputes.append(await open_dispute(client, services, orders[index]))

    _print("POST /dispute (escrow frozen, admins notified)", await counter.per_operation(3, opening))

    async def refund_buyer(index: int) -> None:
        await post(
            client,
            services,
            f"/admin/disputes/{disputes[index]}/resolve",
            {"outcome": "refund_buyer", "note": "x"},
        )

    _print(
        "POST /admin/disputes/{id}/resolve (refund to wallet)", await counter.per_operation(3, refund_buyer)
    )

    for order_id in orders[9:]:
        await confirm(client, services, order_id)
    paid = [await open_dispute(client, services, order_id) for order_id in orders[9:]]

    async def refund_paid_seller(index: int) -> None:
        await post(
            client,
            services,
            f"/admin/disputes/{paid[index]}/resolve",
            {"outcome": "refund_buyer", "note": "x"},
        )

    _print(
        "POST /admin/disputes/{id}/resolve (paid seller, reversal)",
        await counter.per_operation(3, refund_paid_seller),
    )

    async def refund(index: int) -> None:
        body = {"seller_id": checkout.SELLERS[1], "amount": 101, "reason": "bench"}
        await post(client, services, f"/admin/orders/{orders[3 + index]}/refunds", body)

    _print("POST /admin/orders/{id}/refunds (wallet part)", await counter.per_operation(3, refund))

    async def guard(index: int) -> None:
        await services.dispute_holds.hold_of(checkout.SELLERS[1])
        await services.dispute_holds.owed_by(checkout.SELLERS[1], "usd")

    _print("payouts guard: open disputes + debt of a seller", await counter.per_operation(3, guard))
    _print(
        "raw baseline: dispute inserted + escrow set in a transaction",
        await counter.per_operation(3, lambda i: raw_dispute(services, orders[6 + i])),
    )


def _print(name: str, commands: list[str]) -> None:
    print(f"{name:<52} {len(commands):>10.1f} commands")
    print(f"{'':<8}{', '.join(commands)}")
