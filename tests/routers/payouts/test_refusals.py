"""Each refusal of a payout request, who may see and ask for what, and what a seller owes the
platform taken from what they may pay out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from fastapi import FastAPI
from pymongo.asynchronous.client_session import AsyncClientSession

from app.auth import Role
from app.container import Services
from app.routers.dependencies import get_payouts
from app.services.disputes import DisputeHolds, GatedStanding
from app.services.payouts import DisputeHold, Payouts, SellerDisputes
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace
from tests.payouts_support import MUG_NET, get_json, request_payout, sell_and_settle, seller_with_bank


@dataclass(frozen=True, slots=True)
class Hold:
    open_disputes: int = 0
    amounts: Mapping[str, int] = field(default_factory=dict)


class DisputesOf:
    """One seller's disputes and debt, as the disputes domain would report them."""

    def __init__(self, seller_id: str, hold: Hold, owed: int = 0, *, gates: DisputeHolds) -> None:
        self._seller_id = seller_id
        self._hold = hold
        self._owed = owed
        self._gates = gates

    async def hold_of(self, seller_id: str) -> DisputeHold:
        return self._hold if seller_id == self._seller_id else Hold()

    async def gated_standing_in(
        self, session: AsyncClientSession, seller_id: str, currency: str
    ) -> GatedStanding:
        """The seller's real gate read and passed, this hold and debt answered."""
        standing = await self._gates.gated_standing_in(session, seller_id, currency)
        return replace(
            standing, hold=await self.hold_of(seller_id), owed=await self.owed_by(seller_id, currency)
        )

    async def owed_by(self, seller_id: str, currency: str) -> int:
        return self._owed if seller_id == self._seller_id else 0


def payouts_seeing(app: FastAPI, disputes: SellerDisputes) -> None:
    services: Services = app.state.services
    settings = services.settings
    payouts = Payouts(
        services.database,
        services.ledger,
        services.payment_operations,
        services.provider,
        services.audit_log,
        services.stripe_accounts,
        disputes,
        services.checkout,
        currency=settings.platform_currency,
        minimum=settings.payout_min_amount,
        lock_for=timedelta(seconds=settings.payout_lock_seconds),
        balance_cache_for=timedelta(0),
        stripe_balance_timeout=timedelta(seconds=5),
    )
    app.dependency_overrides[get_payouts] = lambda: payouts


async def refusal(market: Marketplace, seller_id: str, key: str, **body: object) -> tuple[int, str]:
    answer = await request_payout(market, seller_id, key=key, **body)  # type: ignore[arg-type]
    return answer.status_code, answer.json()["code"]


async def test_a_seller_without_an_account_or_with_payouts_disabled_is_refused(market: Marketplace) -> None:
    assert await refusal(market, SELLER_B, "k1") == (409, "seller_not_onboarded")
    account = await market.seller_account(SELLER_B)
    await market.emulator.control_async(f"accounts/{account}/restrict")  # a document past due
    await market.pump()
    assert await refusal(market, SELLER_B, "k2") == (409, "payouts_disabled")


async def test_more_than_available_under_the_minimum_or_another_currency_is_refused(
    market: Marketplace,
) -> None:
    await seller_with_bank(market, SELLER_A)
    assert await refusal(market, SELLER_A, "nothing") == (409, "insufficient_funds")
    await sell_and_settle(market, "buyer", key="sale-1")

    answer = await request_payout(market, SELLER_A, key="too-much", amount=MUG_NET + 1)
    assert (answer.status_code, answer.json()["code"], answer.json()["payable"]) == (
        409,
        "insufficient_funds",
        MUG_NET,
    )
    answer = await request_payout(market, SELLER_A, key="tiny", amount=50)
    assert (answer.status_code, answer.json()["code"], answer.json()["minimum"]) == (
        422,
        "payout_below_minimum",
        100,
    )
    assert await refusal(market, SELLER_A, "euros", currency="eur") == (422, "unsupported_currency")
    assert (await get_json(market, "/payouts", SELLER_A, seller_id=SELLER_A))["data"] == []
    await market.assert_invariants()


async def test_an_open_dispute_on_another_order_of_the_same_seller_blocks_payouts(
    app: FastAPI, market: Marketplace
) -> None:
    await seller_with_bank(market, SELLER_A)
    disputed = await sell_and_settle(market, "buyer", key="sale-1")
    await sell_and_settle(market, "buyer", key="sale-2")
    payouts_seeing(
        app,
        DisputesOf(
            SELLER_A, Hold(open_disputes=1, amounts={"usd": 1800}), gates=market.services.dispute_holds
        ),
    )
    assert disputed["order_id"]

    answer = await request_payout(market, SELLER_A, key="blocked", amount=500)
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert (problem["code"], problem["open_disputes"], problem["disputed_amount"]) == (
        "payouts_blocked_by_dispute",
        1,
        1800,
    )
    balance = await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A)
    assert (balance["available"], balance["held_for_disputes"], balance["open_disputes"]) == (
        2 * MUG_NET,
        1800,
        1,
    )
    await market.assert_invariants()


async def test_what_the_seller_owes_the_platform_is_not_paid_out(app: FastAPI, market: Marketplace) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    payouts_seeing(app, DisputesOf(SELLER_A, Hold(), owed=1000, gates=market.services.dispute_holds))

    payout = (await request_payout(market, SELLER_A, key="all")).json()
    assert payout["amount"] == MUG_NET - 1000
    assert (await get_json(market, f"/seller/{SELLER_A}/balance", SELLER_A))["owed_to_platform"] == 1000
    await market.assert_invariants()


async def test_a_seller_cannot_request_or_read_another_sellers_payouts(market: Marketplace) -> None:
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")
    payout = (await request_payout(market, SELLER_A, key="mine", amount=500)).json()

    assert await refusal(market, SELLER_A, "theirs", user=SELLER_B) == (404, "not_found")  # type: ignore[arg-type]
    for path, params in [
        (f"/payouts/{payout['payout_id']}", {}),
        ("/payouts", {"seller_id": SELLER_A}),
        (f"/seller/{SELLER_A}/balance", {}),
    ]:
        answer = await market.client.get(path, params=params, headers=market.headers(SELLER_B, Role.SELLER))
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), path
    for role in (Role.ADMIN, Role.SUPPORT):
        assert (await get_json(market, f"/payouts/{payout['payout_id']}", "staff", role))["amount"] == 500
    by_admin = await request_payout(market, SELLER_A, key="by-admin", amount=200, user="ops", role=Role.ADMIN)
    assert by_admin.status_code == 201, by_admin.text
    await market.assert_invariants()


@pytest.mark.parametrize("role", [Role.BUYER, Role.SUPPORT])
async def test_a_buyer_token_is_refused_and_support_cannot_pay_out(market: Marketplace, role: Role) -> None:
    await seller_with_bank(market, SELLER_A)
    assert await refusal(market, SELLER_A, "k", user="someone", role=role) == (403, "forbidden")  # type: ignore[arg-type]
    if role is Role.BUYER:
        for path, params in [
            ("/payouts/pyt_1", {}),
            ("/payouts", {"seller_id": SELLER_A}),
            (f"/seller/{SELLER_A}/balance", {}),
        ]:
            answer = await market.client.get(path, params=params, headers=market.headers(SELLER_A, role))
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), path
