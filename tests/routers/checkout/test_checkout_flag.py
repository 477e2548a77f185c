"""Both sides of `checkout_v2`, set through the admin API and met at `POST /checkout`."""

from app.auth import Role
from app.db import Collections
from tests.checkout_support import Marketplace


async def test_checkout_serves_buyers_in_the_rollout_and_refuses_the_others_writing_nothing(
    market: Marketplace,
) -> None:
    rule = {"enabled": True, "rollout_percent": 0, "allow_users": ["early-buyer"], "deny_users": []}
    admin = market.headers("ops", Role.ADMIN)
    assert (await market.client.put("/admin/flags/checkout_v2", json=rule, headers=admin)).status_code == 200

    served = await market.checkout("early-buyer", [("prod_mug", 1)], key="flag-1")
    refused = await market.checkout("late-buyer", [("prod_mug", 1)], key="flag-2")

    assert served.status_code == 201, served.text
    assert refused.status_code == 403
    assert (refused.json()["code"], refused.json()["feature"]) == ("feature_disabled", "checkout_v2")
    orders = await market.database[Collections.ORDERS].find({}, {"buyer_id": True}).to_list()
    assert [order["buyer_id"] for order in orders] == ["early-buyer"]
