"""Sellers as the seller pages and the admin console meet them: a marketplace profile, and a
connected account Stripe (the emulator) has verified or restricted, its news brought by webhook."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from app.db import Collections, Database
from app.domain.webhooks import EventStatus
from tests.conftest import bearer, eventually_found

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


# Stripe's US test bank account numbers: payouts to the first are paid, to the second they fail.
PAYING_BANK_ACCOUNT = "000123456789"
CLOSED_BANK_ACCOUNT = "000111111113"


async def seller_profile(database: Database, seller_id: str, country: str | None = "US") -> None:
    """The marketplace's profile of a seller: what Stripe needs to open their account."""
    profile: dict[str, str] = {"_id": seller_id, "email": f"{seller_id}@example.com"}
    if country is not None:
        profile["country"] = country
    await database["users"].insert_one(profile)


async def onboarding_link(service_url: str, seller_token: str, seller_id: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=service_url, timeout=30) as client:
        response = await client.get(f"/seller/{seller_id}/onboarding-link", headers=bearer(seller_token))
    response.raise_for_status()
    link: dict[str, str] = response.json()
    return link


async def account_in(database: Database, account_id: str, status: str) -> None:
    """Wait until the service has the account in `status` (a webhook brings it)."""
    await eventually_found(database, Collections.STRIPE_ACCOUNTS, {"_id": account_id, "status": status})


async def verified_seller(
    service_url: str,
    emulator: EmulatorServer,
    database: Database,
    seller_token: str,
    seller_id: str,
    account_number: str = PAYING_BANK_ACCOUNT,
) -> str:
    """A seller whose account Stripe has verified, `active` at the service, paid out to the
    bank account of Stripe's test `account_number`; its account id."""
    await seller_profile(database, seller_id)
    account_id = (await onboarding_link(service_url, seller_token, seller_id))["account_id"]
    await emulator.control_async(f"accounts/{account_id}/verify", account_number=account_number)
    await account_in(database, account_id, "active")
    await webhooks_quiet(emulator, database)
    return account_id


async def webhooks_quiet(emulator: EmulatorServer, database: Database) -> None:
    """Wait until every event the emulator sent is delivered and handled: a later change at
    Stripe is then news only to the events it makes (a late event of an earlier change re-reads
    the account from Stripe and would bring it too)."""
    unhandled = {"status": {"$in": [str(EventStatus.PENDING), str(EventStatus.PROCESSING)]}}
    for _ in range(400):
        delivery = await emulator.inspect_async("delivery")
        delivered = delivery["queued"] == delivery["in_flight"] == 0
        if delivered and await database[Collections.WEBHOOK_EVENTS].find_one(unhandled) is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("webhook deliveries or their handling did not finish")
