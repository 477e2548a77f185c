"""Sellers with money to pay out, for the payout tests and the benchmark: a sale paid by card,
delivered, transferred to the seller's connected account and settled there."""

from __future__ import annotations

from typing import Any

import httpx

from app.auth import Role
from tests.checkout_support import Marketplace

# Stripe's US test bank numbers (routing 110000000): the first pays, the others fail.
PAYING_BANK = "000123456789"
CLOSED_BANK = "000111111113"
NO_SUCH_BANK = "000111111116"
MUG_NET = 1800 - 180  # prod_mug, less the platform's 10 %


async def seller_with_bank(market: Marketplace, seller_id: str, account_number: str = PAYING_BANK) -> str:
    """A verified connected account for `seller_id` whose bank account has `account_number`."""
    account = await market.services.provider.create_connected_account(
        seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
    )
    await market.emulator.control_async(f"accounts/{account.id}/verify", account_number=account_number)
    await market.pump()
    return account.id


async def sell_and_settle(
    market: Marketplace, buyer: str, product: str = "prod_mug", *, key: str
) -> dict[str, Any]:
    """A buyer pays an order by card and confirms delivery; the seller's money reaches their
    Stripe balance and becomes available there."""
    order: dict[str, Any] = (await market.checkout(buyer, [(product, 1)], key=key)).json()
    await market.pay_by_card(order)
    await market.pump()
    answer = await market.confirm_delivery(buyer, order["order_id"], key=f"{key}-delivered")
    assert answer.status_code == 200, answer.text
    await market.settle()
    return order


async def request_payout(
    market: Marketplace,
    seller_id: str,
    *,
    key: str,
    amount: int | None = None,
    currency: str = "usd",
    user: str | None = None,
    role: Role = Role.SELLER,
) -> httpx.Response:
    body: dict[str, Any] = {"seller_id": seller_id, "currency": currency}
    if amount is not None:
        body["amount"] = amount
    headers = market.headers(user or seller_id, role, key=key)
    return await market.client.post("/payouts", json=body, headers=headers)


async def get_json(market: Marketplace, path: str, user: str, role: Role = Role.SELLER, **params: Any) -> Any:
    answer = await market.client.get(path, params=params, headers=market.headers(user, role))
    assert answer.status_code == 200, answer.text
    return answer.json()
