"""The marketplace's day at full speed, over HTTP: each buyer tops up (paying at Stripe as Stripe.js
does), reads the wallet and orders, checks out (card, wallet or both; one or two sellers), confirms
deliveries and disputes; each seller reads the balance and asks for payouts, which the bank pays
or refuses; an admin resolves disputes; Stripe's days pass (pending funds become available).

Every actor loops until the deadline with a short pause between its requests. A refusal the
service is entitled to (a 409 on an order not paid yet, a payout with nothing payable) is part of
the day; a 5xx or a request that fails on the network is not, and is reported.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.auth import Role, mint_token
from app.config import Settings
from load.stats import Stats

CURRENCY = "usd"
PAUSE_SECONDS = 0.05
SETTLE_EVERY_SECONDS = 2.0
ADMIN = "load_admin"
# A test card that is declined, and the one that pays.
DECLINED = "pm_card_chargeDeclined"
PAYS = "pm_card_visa"


@dataclass
class Order:
    order_id: str
    buyer: str
    sellers: list[str]


@dataclass
class Day:
    """What every actor shares: the clients, the catalog, what was bought and disputed, and what
    went wrong."""

    api: httpx.AsyncClient
    emulator: httpx.AsyncClient
    settings: Settings
    products: dict[str, list[str]]  # seller -> product ids
    deadline: float
    stats: Stats = field(default_factory=Stats)
    orders: list[Order] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _tokens: dict[tuple[str, Role], str] = field(default_factory=dict)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def headers(self, user: str, role: Role, *, keyed: bool = False) -> dict[str, str]:
        if (user, role) not in self._tokens:
            self._tokens[user, role] = mint_token(self.settings, user, [role])
        headers = {"Authorization": f"Bearer {self._tokens[user, role]}"}
        return {**headers, "Idempotency-Key": uuid.uuid4().hex} if keyed else headers

    async def call(
        self, route: str, method: str, path: str, user: str, role: Role, **options: Any
    ) -> httpx.Response | None:
        """One request, timed under `route`; None when it failed (recorded as a failure)."""
        headers = self.headers(user, role, keyed=method == "POST")
        started = time.perf_counter()
        try:
            answer = await self.api.request(method, path, headers=headers, **options)
        except httpx.HTTPError as error:
            self.failures.append(f"{route}: {type(error).__name__}: {error}")
            return None
        self.stats.add(route, answer.status_code, time.perf_counter() - started)
        if answer.status_code >= 500:
            self.failures.append(f"{route} answered {answer.status_code}: {answer.text[:300]}")
            return None
        return answer

    async def stripe_js(self, intent_id: str, client_secret: str, payment_method: str) -> None:
        """The customer confirms in the browser: the publishable key and the client secret."""
        started = time.perf_counter()
        answer = await self.emulator.post(
            f"/v1/payment_intents/{intent_id}/confirm",
            data={"client_secret": client_secret, "payment_method": payment_method},
            headers={"Authorization": f"Bearer {self.settings.stripe_publishable_key}"},
        )
        self.stats.add(
            "Stripe: confirm PaymentIntent (Stripe.js)", answer.status_code, time.perf_counter() - started
        )
        if answer.status_code not in (200, 402):
            self.failures.append(f"confirming {intent_id} at Stripe answered {answer.status_code}")


Action = Callable[[Day, str, random.Random], Awaitable[None]]


async def top_up(day: Day, buyer: str, rng: random.Random) -> None:
    body = {"amount": rng.randrange(2_000, 20_000), "currency": CURRENCY}
    answer = await day.call(
        "POST /wallet/topup_request", "POST", "/wallet/topup_request", buyer, Role.BUYER, json=body
    )
    if answer is not None and answer.status_code == 201:
        topup = answer.json()
        await day.stripe_js(topup["payment_intent_id"], topup["client_secret"], PAYS)


async def read_wallet(day: Day, buyer: str, rng: random.Random) -> None:
    await day.call("GET /wallet", "GET", "/wallet", buyer, Role.BUYER)


async def list_orders(day: Day, buyer: str, rng: random.Random) -> None:
    await day.call("GET /orders", "GET", "/orders", buyer, Role.BUYER, params={"limit": 10})


async def check_out(day: Day, buyer: str, rng: random.Random) -> None:
    sellers = rng.sample(sorted(day.products), rng.choice([1, 2]))
    items = [
        {"product_id": rng.choice(day.products[seller]), "quantity": rng.choice([1, 2])} for seller in sellers
    ]
    body = {"items": items, "currency": CURRENCY, "use_wallet": rng.random() < 0.6}
    answer = await day.call("POST /checkout", "POST", "/checkout", buyer, Role.BUYER, json=body)
    if answer is None or answer.status_code != 201:
        return
    order = answer.json()
    day.orders.append(Order(order["order_id"], buyer, sorted(sellers)))
    if order["amount_due"]:
        card = DECLINED if rng.random() < 0.1 else PAYS
        await day.stripe_js(order["payment_intent_id"], order["client_secret"], card)


def _own_order(day: Day, buyer: str, rng: random.Random) -> Order | None:
    mine = [order for order in day.orders if order.buyer == buyer]
    return rng.choice(mine) if mine else None


async def confirm_delivery(day: Day, buyer: str, rng: random.Random) -> None:
    order = _own_order(day, buyer, rng)
    if order is None:
        return
    body = {"seller_id": rng.choice(order.sellers)} if rng.random() < 0.5 else {}
    path = f"/orders/{order.order_id}/confirm-delivery"
    await day.call("POST /orders/{id}/confirm-delivery", "POST", path, buyer, Role.BUYER, json=body)


async def open_dispute(day: Day, buyer: str, rng: random.Random) -> None:
    order = _own_order(day, buyer, rng)
    if order is None:
        return
    body = {
        "order_id": order.order_id,
        "seller_id": rng.choice(order.sellers),
        "reason": rng.choice(["not_received", "damaged"]),
        "description": "Not what was promised",
    }
    answer = await day.call("POST /dispute", "POST", "/dispute", buyer, Role.BUYER, json=body)
    if answer is not None and answer.status_code == 201:
        day.disputes.append(answer.json())


# What a buyer does next, with its weight.
BUYER_ACTIONS: list[tuple[Action, int]] = [
    (top_up, 3),
    (read_wallet, 3),
    (list_orders, 1),
    (check_out, 4),
    (confirm_delivery, 3),
    (open_dispute, 1),
]


async def buyer(day: Day, user: str, rng: random.Random) -> None:
    actions, weights = zip(*BUYER_ACTIONS, strict=True)
    await top_up(day, user, rng)  # some money in the wallet before the first checkout
    while day.running():
        await rng.choices(actions, weights)[0](day, user, rng)
        await asyncio.sleep(rng.uniform(0, 2 * PAUSE_SECONDS))


async def seller(day: Day, user: str, rng: random.Random) -> None:
    """Looks at the balance; now and then asks for everything payable, paid or refused by the bank."""
    while day.running():
        await day.call("GET /seller/{id}/balance", "GET", f"/seller/{user}/balance", user, Role.SELLER)
        if rng.random() < 0.3:
            body = {"seller_id": user, "currency": CURRENCY}
            answer = await day.call("POST /payouts", "POST", "/payouts", user, Role.SELLER, json=body)
            if answer is not None and answer.status_code == 201:
                await _bank_decides(day, answer.json(), rng)
        await asyncio.sleep(rng.uniform(0, 8 * PAUSE_SECONDS))


async def _bank_decides(day: Day, payout: dict[str, Any], rng: random.Random) -> None:
    if payout.get("status") != "pending" or not payout.get("stripe_payout_id"):
        return
    verdict = "pay" if rng.random() < 0.85 else "fail"
    await day.emulator.post(f"/_emulator/payouts/{payout['stripe_payout_id']}/{verdict}", json={})


async def admin(day: Day, user: str, rng: random.Random) -> None:
    """Resolves the buyers' disputes as they come: refund, release or split."""
    while day.running():
        if day.disputes:
            dispute = day.disputes.pop(rng.randrange(len(day.disputes)))
            outcome = rng.choice(["refund_buyer", "release_to_seller", "split"])
            body: dict[str, Any] = {"outcome": outcome, "note": "looked into it"}
            if outcome == "split":
                body["refund_amount"] = rng.randrange(1, max(dispute["amount"], 2))
            path = f"/admin/disputes/{dispute['dispute_id']}/resolve"
            await day.call("POST /admin/disputes/{id}/resolve", "POST", path, user, Role.ADMIN, json=body)
        await asyncio.sleep(rng.uniform(0, 8 * PAUSE_SECONDS))


async def stripe_days_pass(day: Day) -> None:
    """Stripe makes pending funds available (days pass at Stripe), so transfers and payouts have
    money to move."""
    while day.running():
        await asyncio.sleep(SETTLE_EVERY_SECONDS)
        await day.emulator.post("/_emulator/balance/settle", json={})


async def play(day: Day, buyers: list[str], sellers: list[str], seed: int) -> None:
    actors = [buyer(day, user, random.Random(f"{seed}/{user}")) for user in buyers]
    actors += [seller(day, user, random.Random(f"{seed}/{user}")) for user in sellers]
    actors += [admin(day, ADMIN, random.Random(f"{seed}/{ADMIN}")), stripe_days_pass(day)]
    await asyncio.gather(*actors)
