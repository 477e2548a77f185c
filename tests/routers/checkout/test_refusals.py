"""What checkout refuses, and who may see what: prices never come from the request, a line that
cannot be bought is a 422 naming it and writes nothing, another's order is 404."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth import Role
from app.db import Collections
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace


async def nothing_written(market: Marketplace) -> bool:
    for collection in (
        Collections.ORDERS,
        Collections.ESCROWS,
        Collections.JOURNAL_ENTRIES,
        Collections.PAYMENT_OPERATIONS,
    ):
        if await market.database[collection].count_documents({}):
            return False
    return True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"items": [{"product_id": "prod_mug", "quantity": 1, "unit_amount": 1}], "currency": "usd"},
            "unit_amount",
        ),
        ({"items": [{"product_id": "prod_mug", "quantity": 1}], "currency": "usd", "amount": 1}, "amount"),
        ({"items": [{"product_id": "prod_mug", "quantity": 1, "price": 1}], "currency": "usd"}, "price"),
        ({"items": [{"product_id": "prod_mug", "quantity": "1"}], "currency": "usd"}, "quantity"),
    ],
)
async def test_prices_and_amounts_in_the_request_are_refused(
    market: Marketplace, body: dict[str, Any], field: str
) -> None:
    answer = await market.client.post("/checkout", json=body, headers=market.headers("buyer", key="k"))
    assert answer.status_code == 422
    assert field in answer.text
    assert await nothing_written(market)


@pytest.mark.parametrize(
    ("items", "code", "line"),
    [
        ([("prod_mug", 1), ("prod_off", 1)], "product_unavailable", 1),
        ([("prod_mug", 1), ("prod_eur", 1)], "mixed_currencies", 1),
        ([("prod_mug", 0)], "validation_error", None),
        ([("prod_mug", 10**9)], "quantity_out_of_range", 0),
    ],
)
async def test_a_line_that_cannot_be_bought_is_refused_and_nothing_changes(
    market: Marketplace, items: list[tuple[str, int]], code: str, line: int | None
) -> None:
    await market.database["products"].insert_many(
        [
            {
                "_id": "prod_off",
                "seller_id": SELLER_A,
                "title": "Off",
                "price": {"amount": 5, "currency": "usd"},
                "active": False,
            },
            {
                "_id": "prod_eur",
                "seller_id": SELLER_A,
                "title": "Eur",
                "price": {"amount": 5, "currency": "eur"},
                "active": True,
            },
        ]
    )
    answer = await market.checkout("buyer", items, key="bad")
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    if line is not None:
        assert answer.json()["line"] == line
    assert await nothing_written(market)


async def test_the_same_key_with_other_lines_is_refused(market: Marketplace) -> None:
    assert (await market.checkout("buyer", [("prod_mug", 1)], key="same")).status_code == 201
    again = await market.checkout("buyer", [("prod_mug", 2)], key="same")
    assert again.status_code == 409
    assert await market.database[Collections.ORDERS].count_documents({}) == 1


async def test_an_order_is_seen_whole_by_its_buyer_in_part_by_its_sellers_and_not_at_all_by_others(
    market: Marketplace,
) -> None:
    order = (await market.checkout("buyer", [("prod_mug", 1), ("prod_tea", 1)], key="v")).json()
    path = f"/orders/{order['order_id']}"

    whole = (await market.client.get(path, headers=market.headers("buyer"))).json()
    assert [line["product_id"] for line in whole["lines"]] == ["prod_mug", "prod_tea"]
    part = (await market.client.get(path, headers=market.headers(SELLER_B, Role.SELLER))).json()
    assert [line["product_id"] for line in part["lines"]] == ["prod_tea"]
    assert [e["seller_id"] for e in part["escrows"]] == [SELLER_B]
    assert (part["funding"], part["payment_intent_id"], part["amount_due"]) == (None, None, None)
    staff = (await market.client.get(path, headers=market.headers("support", Role.SUPPORT))).json()
    assert len(staff["escrows"]) == 2

    for stranger in (market.headers("other-buyer"), market.headers("other-seller", Role.SELLER)):
        assert (await market.client.get(path, headers=stranger)).status_code == 404
    assert (await market.confirm_delivery("other-buyer", order["order_id"], key="c")).status_code == 404
    listed = (await market.client.get("/orders", headers=market.headers("other-buyer"))).json()
    assert listed["data"] == []
    mine = (await market.client.get("/orders", headers=market.headers("buyer"))).json()
    assert [o["order_id"] for o in mine["data"]] == [order["order_id"]]


async def test_delivery_of_an_unpaid_order_cannot_be_confirmed(market: Marketplace) -> None:
    order = (await market.checkout("buyer", [("prod_mug", 1)], key="u")).json()
    answer = await market.confirm_delivery("buyer", order["order_id"], key="c")
    assert (answer.status_code, answer.json()["code"]) == (409, "order_not_paid")


async def test_the_transfer_list_is_for_staff_only(market: Marketplace) -> None:
    assert (await market.client.get("/admin/transfers", headers=market.headers("b"))).status_code == 403
    assert (await market.client.get("/admin/transfers")).status_code == 401
    listed = await market.client.get(
        "/admin/transfers?status=failed", headers=market.headers("a", Role.ADMIN)
    )
    assert listed.json() == {"data": [], "has_more": False}


async def test_products_are_listed_by_id_with_their_prices(market: Marketplace) -> None:
    page = (await market.client.get("/products?limit=2", headers=market.headers("b"))).json()
    assert [(p["product_id"], p["unit_amount"]) for p in page["data"]] == [
        ("prod_apron", 4250),
        ("prod_board", 6999),
    ]
    assert page["has_more"] is True
    rest = (
        await market.client.get("/products?starting_after=prod_board", headers=market.headers("b"))
    ).json()
    assert [p["product_id"] for p in rest["data"]] == ["prod_mug", "prod_tea"]
    mine = (await market.client.get(f"/products?seller_id={SELLER_B}", headers=market.headers("b"))).json()
    assert [p["product_id"] for p in mine["data"]] == ["prod_board", "prod_tea"]
    assert (await market.client.get("/products")).status_code == 401
