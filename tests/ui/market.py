"""A marketplace behind the live service, for the money pages' browser tests: a catalog, a seller
Stripe has verified, buyers who pay orders by card in the emulator, deliveries, disputes and
refunds through the JSON API, and Stripe's events reaching the service by webhook as in
production. Each step waits for the state it leads to in MongoDB."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from app.adapters.stripe_adapter import StripeAdapter
from app.auth import Role
from app.config import Settings
from app.db import Collections, Database
from tests.checkout_support import seed_catalog
from tests.conftest import TokenFactory, bearer, eventually_found
from tests.money_invariants import assert_money_invariants
from tests.ui.sellers import PAYING_BANK_ACCOUNT, verified_seller

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SETTLE_ATTEMPTS = 100


@dataclass
class LiveMarket:
    service_url: str
    emulator: EmulatorServer
    database: Database
    settings: Settings
    token: TokenFactory

    async def call(
        self,
        method: str,
        path: str,
        user: str,
        role: Role,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON API as `user` with `role`; the answer's JSON, asserting it succeeded."""
        headers = {**bearer(self.token(user, role)), **(headers or {})}
        if key is not None:
            headers["Idempotency-Key"] = key
        async with httpx.AsyncClient(base_url=self.service_url, timeout=30) as client:
            answer = await client.request(method, path, headers=headers, **kwargs)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    async def open(self, seller_id: str, account_number: str = PAYING_BANK_ACCOUNT) -> str:
        """The catalog, and `seller_id` verified by Stripe with the bank account of Stripe's test
        `account_number` (a paying one unless said otherwise)."""
        await seed_catalog(self.database)
        return await verified_seller(
            self.service_url,
            self.emulator,
            self.database,
            self.token(seller_id, Role.SELLER),
            seller_id,
            account_number,
        )

    async def paid_order(self, buyer: str, product: str, *, payment_method: str = "pm_card_visa") -> str:
        """An order of one `product`, paid by card as Stripe.js confirms it; its escrow held."""
        order = await self.call(
            "POST",
            "/checkout",
            buyer,
            Role.BUYER,
            key=f"checkout-{buyer}-{product}",
            json={"items": [{"product_id": product, "quantity": 1}], "currency": "usd"},
        )
        stripe_js = {"Authorization": f"Bearer {self.emulator.settings.publishable_key}"}
        async with httpx.AsyncClient(base_url=self.emulator.base_url, headers=stripe_js) as client:
            paid = await client.post(
                f"/v1/payment_intents/{order['payment_intent_id']}/confirm",
                data={"client_secret": order["client_secret"], "payment_method": payment_method},
            )
        assert paid.status_code == 200, paid.text
        await eventually_found(
            self.database, Collections.ESCROWS, {"order_id": order["order_id"], "status": "held"}
        )
        order_id: str = order["order_id"]
        return order_id

    async def released_sale(self, buyer: str, product: str) -> str:
        """A paid order the buyer received: transferred to the seller and available at Stripe."""
        order_id = await self.paid_order(buyer, product)
        await self.call(
            "POST",
            f"/orders/{order_id}/confirm-delivery",
            buyer,
            Role.BUYER,
            key=f"delivered-{order_id}",
            json={},
        )
        await eventually_found(
            self.database, Collections.SELLER_TRANSFERS, {"order_id": order_id, "status": "transferred"}
        )
        await self.settle()
        return order_id

    async def dispute(self, buyer: str, order_id: str, seller_id: str) -> str:
        opened = await self.call(
            "POST",
            "/dispute",
            buyer,
            Role.BUYER,
            key=f"dispute-{order_id}",
            json={
                "order_id": order_id,
                "seller_id": seller_id,
                "reason": "not_received",
                "description": "Never arrived",
            },
        )
        dispute_id: str = opened["dispute_id"]
        return dispute_id

    async def settle(self) -> None:
        """Stripe's work in flight done, and every pending fund available."""
        await self.emulator.control_async("clock/advance", seconds=0)
        await self.emulator.control_async("balance/settle")

    async def assert_invariants(self) -> None:
        """The books' invariants once Stripe's work is done and its events have reached the
        service: they are asked again while events are still on their way, and the last
        failure is raised when they never hold."""
        await self.settle()
        adapter = StripeAdapter(self.settings)
        try:
            for attempt in range(SETTLE_ATTEMPTS):
                try:
                    await assert_money_invariants(self.database, adapter)
                    return
                except AssertionError:
                    if attempt == SETTLE_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.1)
        finally:
            await adapter.close()
