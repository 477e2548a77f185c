"""A marketplace to check out in, for the checkout tests and the benchmark: the service (ASGI)
against the emulator, a catalog, sellers with connected accounts, buyers with wallet money from
real top-ups and legacy balances, and Stripe's events delivered when the test says so.

Events are not pushed by the emulator (no webhook URL): `Marketplace.pump` posts every event the
emulator made since the last pump, signed, to `/webhooks/stripe`, and processes them, so a test
decides when (and how often, and in which order) Stripe speaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from app.auth import Role, mint_token
from app.config import Settings
from app.container import Services
from app.db import Database
from app.domain.money import Money
from tests.conftest import CONNECT_WEBHOOK_SECRET, PLATFORM_WEBHOOK_SECRET, bearer
from tests.legacy_wallets import insert_legacy_wallet
from tests.money_invariants import assert_money_invariants
from tests.stripe_events import signed_delivery

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SELLER_A = "seller_a"
SELLER_B = "seller_b"
# (product id, seller, title, unit price)
PRODUCTS = [
    ("prod_mug", SELLER_A, "Mug", 1800),
    ("prod_apron", SELLER_A, "Apron", 4250),
    ("prod_board", SELLER_B, "Board", 6999),
    ("prod_tea", SELLER_B, "Tea", 1299),
]


async def seed_catalog(database: Database, currency: str = "usd") -> None:
    await database["products"].insert_many(
        [
            {
                "_id": product_id,
                "seller_id": seller,
                "title": title,
                "price": {"amount": amount, "currency": currency},
                "active": True,
            }
            for product_id, seller, title, amount in PRODUCTS
        ]
    )


@dataclass
class Marketplace:
    services: Services
    client: httpx.AsyncClient
    emulator: EmulatorServer
    settings: Settings
    delivered: set[str] = field(default_factory=set)

    @property
    def database(self) -> Database:
        return self.services.database

    def headers(self, user_id: str, *roles: Role, key: str | None = None) -> dict[str, str]:
        headers = bearer(mint_token(self.settings, user_id, list(roles or (Role.BUYER,))))
        return {**headers, "Idempotency-Key": key} if key else headers

    async def checkout(
        self, buyer: str, items: Sequence[tuple[str, int]], *, key: str, use_wallet: bool = False
    ) -> httpx.Response:
        body = {
            "items": [{"product_id": product, "quantity": quantity} for product, quantity in items],
            "currency": "usd",
            "use_wallet": use_wallet,
        }
        return await self.client.post("/checkout", json=body, headers=self.headers(buyer, key=key))

    async def confirm_delivery(
        self, buyer: str, order_id: str, *, key: str, seller_id: str | None = None
    ) -> httpx.Response:
        body = {"seller_id": seller_id} if seller_id else {}
        return await self.client.post(
            f"/orders/{order_id}/confirm-delivery", json=body, headers=self.headers(buyer, key=key)
        )

    async def pay_by_card(
        self, order: dict[str, Any], payment_method: str = "pm_card_visa"
    ) -> httpx.Response:
        """The buyer confirms in the browser, as Stripe.js does: publishable key and client secret."""
        headers = {"Authorization": f"Bearer {self.emulator.settings.publishable_key}"}
        async with httpx.AsyncClient(base_url=self.emulator.base_url, headers=headers) as stripe_js:
            return await stripe_js.post(
                f"/v1/payment_intents/{order['payment_intent_id']}/confirm",
                data={"client_secret": order["client_secret"], "payment_method": payment_method},
            )

    async def pump(self) -> None:
        """Deliver every event Stripe made since the last pump, signed, and process them."""
        events = await self.emulator.inspect_async("events", limit=100)
        fresh = [event for event in reversed(events["data"]) if event["id"] not in self.delivered]
        for event in fresh:
            await self.deliver(event)
        await self.services.webhook_processor.process_due(limit=500)

    async def deliver(self, event: dict[str, Any]) -> None:
        secret = CONNECT_WEBHOOK_SECRET if event.get("account") else PLATFORM_WEBHOOK_SECRET
        body, headers = signed_delivery(event, secret)
        answer = await self.client.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        self.delivered.add(event["id"])

    async def seller_account(self, seller_id: str, *, verified: bool = True) -> str:
        """A connected account for `seller_id`, as onboarding records it from Stripe's events."""
        account = await self.services.provider.create_connected_account(
            seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
        )
        if verified:
            await self.emulator.control_async(f"accounts/{account.id}/verify")
        await self.pump()
        return account.id

    async def top_up(self, buyer: str, amount: int) -> None:
        """Platform wallet money, paid by card at Stripe and credited by its webhook."""
        topup = await self.services.topups.request(buyer, Money(amount, "usd"), f"topup-{buyer}-{amount}")
        await self.emulator.control_async(f"payment_intents/{topup.payment_intent_id}/succeed")
        await self.pump()

    async def legacy_balance(self, buyer: str, dollars: str) -> None:
        await insert_legacy_wallet(self.database, buyer, dollars)

    async def settle(self) -> None:
        """Stripe's asynchronous work done and the platform's funds available."""
        await self.emulator.control_async("clock/advance", seconds=0)
        await self.emulator.control_async("balance/settle")
        await self.pump()

    async def assert_invariants(self) -> None:
        await self.settle()
        await assert_money_invariants(self.database, self.services.provider)

    async def balance(self, account: str) -> int:
        return await self.services.ledger.balance(account, "usd")
