"""Opening, resolving and refunding through the API, for the dispute tests."""

from __future__ import annotations

from typing import Any

import httpx

from app.auth import Role
from app.db import Collections
from tests.checkout_support import Marketplace

ADMIN = "admin-1"


async def paid_order(
    market: Marketplace,
    buyer: str,
    items: list[tuple[str, int]],
    *,
    key: str,
    use_wallet: bool = False,
    payment_method: str = "pm_card_visa",
) -> dict[str, Any]:
    opened = await market.checkout(buyer, items, key=key, use_wallet=use_wallet)
    assert opened.status_code == 201, opened.text
    order: dict[str, Any] = opened.json()
    if order["amount_due"]:
        paid = await market.pay_by_card(order, payment_method)
        assert paid.status_code == 200, paid.text
        await market.pump()
    return order


async def open_dispute(
    market: Marketplace, buyer: str, order_id: str, seller_id: str, *, key: str, reason: str = "not_received"
) -> httpx.Response:
    body = {"order_id": order_id, "seller_id": seller_id, "reason": reason, "description": "Never arrived"}
    return await market.client.post("/dispute", json=body, headers=market.headers(buyer, key=key))


async def resolve(market: Marketplace, dispute_id: str, *, key: str, **body: Any) -> httpx.Response:
    return await market.client.post(
        f"/admin/disputes/{dispute_id}/resolve",
        json={"note": "looked at the evidence", **body},
        headers=market.headers(ADMIN, Role.ADMIN, key=key),
    )


async def refund_order(market: Marketplace, order_id: str, *, key: str, **body: Any) -> httpx.Response:
    return await market.client.post(
        f"/admin/orders/{order_id}/refunds",
        json={"reason": "asked by the buyer", **body},
        headers=market.headers(ADMIN, Role.ADMIN, key=key),
    )


async def escrow_of(market: Marketplace, order_id: str, seller_id: str) -> dict[str, Any]:
    document = await market.database[Collections.ESCROWS].find_one(
        {"order_id": order_id, "seller_id": seller_id}
    )
    assert document is not None
    return document


async def stripe_refunds(market: Marketplace, payment_intent_id: str) -> list[Any]:
    refunds = await market.emulator.stripe_client().v1.refunds.list_async({"limit": 100})
    return [refund for refund in refunds.data if refund.payment_intent == payment_intent_id]
