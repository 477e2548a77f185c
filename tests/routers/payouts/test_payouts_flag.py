"""Both sides of `seller_payouts`, set through the admin API and met at `POST /payouts`: the
flag is the seller's, whoever asks for their payout."""

from app.auth import Role
from app.db import Collections
from tests.checkout_support import Marketplace
from tests.payouts_support import request_payout


async def test_payout_requests_pass_for_sellers_in_the_rollout_and_are_refused_for_the_others(
    market: Marketplace,
) -> None:
    rule = {"enabled": True, "rollout_percent": 0, "allow_users": ["early-seller"], "deny_users": []}
    admin = market.headers("ops", Role.ADMIN)
    assert (
        await market.client.put("/admin/flags/seller_payouts", json=rule, headers=admin)
    ).status_code == 200

    # In the rollout, the request reaches the payouts service, which finds no account yet.
    served = await request_payout(market, "early-seller", key="flag-1")
    refused = await request_payout(market, "late-seller", key="flag-2")
    for_them = await request_payout(market, "late-seller", key="flag-3", user="ops", role=Role.ADMIN)

    assert (served.status_code, served.json()["code"]) == (409, "seller_not_onboarded")
    for answer in (refused, for_them):
        assert answer.status_code == 403
        assert (answer.json()["code"], answer.json()["feature"]) == ("feature_disabled", "seller_payouts")
    assert await market.database[Collections.PAYOUTS].count_documents({}) == 0
