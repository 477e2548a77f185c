"""Payouts through the real application (in process, over ASGI) against the Stripe emulator: the
MongoDB commands of a seller's balance page, of a payout request and of a `payout.paid` event's
handling (read again from Stripe, stored, the ledger entry and audit posted), beside a raw-database
baseline (a payout document inserted and updated in one transaction). Runs after the checkout
benchmark, whose delivered orders left money on its first seller's Stripe balance."""

from __future__ import annotations

import uuid

import httpx
from pymongo.asynchronous.client_session import AsyncClientSession

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from bench.checkout import SELLERS
from bench.commands import CommandCounter
from stripe_emulator.testing import EmulatorServer

SELLER = SELLERS[0]
AMOUNT = 100


def headers(services: Services, key: str | None = None) -> dict[str, str]:
    token = {"Authorization": f"Bearer {mint_token(services.settings, SELLER, [Role.SELLER])}"}
    return {**token, "Idempotency-Key": key} if key else token


async def balance_page(client: httpx.AsyncClient, services: Services) -> None:
    answer = await client.get(f"/seller/{SELLER}/balance", headers=headers(services))
    assert answer.status_code == 200, answer.text


async def request_payout(client: httpx.AsyncClient, services: Services) -> str:
    body = {"seller_id": SELLER, "amount": AMOUNT, "currency": "usd"}
    answer = await client.post("/payouts", json=body, headers=headers(services, uuid.uuid4().hex))
    assert answer.status_code == 201, answer.text
    stripe_payout_id: str = answer.json()["stripe_payout_id"]
    return stripe_payout_id


async def raw_payout(services: Services, index: int) -> None:
    payout_id = f"raw-{uuid.uuid4().hex}-{index}"

    async def write(session: AsyncClientSession) -> None:
        payouts = services.database[Collections.PAYOUTS]
        await payouts.insert_one(
            {"_id": payout_id, "seller_id": SELLER, "status": "requested"}, session=session
        )
        await payouts.update_one({"_id": payout_id}, {"$set": {"status": "pending"}}, session=session)

    await services.database.transaction(write)


async def run(
    client: httpx.AsyncClient, services: Services, emulator: EmulatorServer, counter: CommandCounter
) -> None:
    await emulator.control_async("balance/settle")
    account = await services.stripe_accounts.of_seller(SELLER)
    assert account is not None
    _print(
        "GET /seller/{id}/balance", await counter.per_operation(3, lambda i: balance_page(client, services))
    )
    made: list[str] = []

    async def payout(index: int) -> None:
        made.append(await request_payout(client, services))

    _print("POST /payouts", await counter.per_operation(3, payout))
    for stripe_payout_id in made:
        await emulator.control_async(f"payouts/{stripe_payout_id}/pay")
    paid = [await services.provider.retrieve_payout(account.id, stripe_id) for stripe_id in made]

    async def handle_paid(index: int) -> None:
        await services.payouts.refresh_from_stripe(
            account.id, paid[index], Actor.webhook(f"evt_bench_{index}")
        )

    _print("payout.paid handled (read, store, ledger, audit)", await counter.per_operation(3, handle_paid))
    _print(
        "raw baseline: payout inserted and updated in a transaction",
        await counter.per_operation(3, lambda i: raw_payout(services, i)),
    )


# What issue 18 asks of a payout request, in MongoDB commands.
GOALS = {"POST /payouts": 10}


def _print(name: str, commands: list[str]) -> None:
    goal = GOALS.get(name)
    verdict = "" if goal is None else f"(goal <= {goal}: {'met' if len(commands) <= goal else 'MISSED'})"
    print(f"{name:<52} {len(commands):>10.1f} commands {verdict}")
    print(f"{'':<8}{', '.join(commands)}")
