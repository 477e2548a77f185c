"""A payout request and a dispute's opening on the same seller's money, racing from two service
instances (each with its own MongoDB and Stripe clients), round after round: MongoDB orders them,
so no payout is ever requested while a dispute on that seller's money is open. Either the payout
is requested first (legitimate: the dispute opened after it) or the request sees the dispute and
is refused."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession

from app.container import Services, running_services
from app.db import Collections, Database
from app.domain.audit import Actor, ActorKind
from app.domain.disputes import OPEN_STATUSES, DisputeReason, DisputeStatus, Outcome
from app.errors import ServiceError
from app.services.disputes import DisputeHolds, GatedStanding, OpenDispute, Resolution, SellerHold
from sim.day_invariants import no_payout_while_disputed
from tests.checkout_support import SELLER_A, Marketplace
from tests.payouts_support import request_payout, sell_and_settle, seller_with_bank
from tests.routers.disputes.support import open_dispute, paid_order

ROUNDS = 24
PAYOUT = 100  # PAYOUT_MIN_AMOUNT: two settled sales pay for every round's payout
BUYER = "buyer-race"


async def after(delay: float, call: Awaitable[Any]) -> str:
    """What `call` ended with, started `delay` seconds from now: "ok" or the refusal's code."""
    await asyncio.sleep(delay)
    try:
        await call
    except ServiceError as error:
        return error.code
    return "ok"


async def test_no_payout_is_requested_while_a_dispute_on_the_sellers_money_is_open(
    market: Marketplace,
) -> None:
    await seller_with_bank(market, SELLER_A)
    for sale in range(2):
        await sell_and_settle(market, "buyer-sales", key=f"sale-{sale}")
    held = [await paid_order(market, BUYER, [("prod_mug", 1)], key=f"held-{n}") for n in range(ROUNDS)]
    rng = random.Random(20261127)
    outcomes: Counter[tuple[str, str]] = Counter()

    async with running_services(market.settings) as other:
        first: Services = market.services
        for n, order in enumerate(held):
            request = first.payouts.request(f"po_race_{n}", SELLER_A, PAYOUT, "usd", Actor.user(SELLER_A))
            opening = other.disputes.open(
                BUYER,
                OpenDispute(order["order_id"], SELLER_A, DisputeReason.NOT_RECEIVED, "Never arrived"),
                f"race-{n}",
                Actor.user(BUYER),
            )
            payout, dispute = await asyncio.gather(
                after(rng.uniform(0, 0.02), request), after(rng.uniform(0, 0.02), opening)
            )
            outcomes[payout, dispute] += 1
            assert dispute == "ok"
            (disputed,) = await market.database[Collections.DISPUTES].find({"open": True}).to_list()
            await first.disputes.resolve(
                disputed["_id"],
                Resolution(Outcome.RELEASE_TO_SELLER, "delivered after all"),
                Actor(ActorKind.ADMIN, "admin-race"),
            )

    await market.services.audit_sealer.seal_pending()
    assert await payouts_requested_during_disputes(market.database) == []
    await no_payout_while_disputed(market.database)
    # Both orders happened: payouts requested before the opening, and payouts refused after it.
    assert {payout for payout, _ in outcomes} == {"ok", "payouts_blocked_by_dispute"}, outcomes
    await market.pump()
    await market.assert_invariants()


async def test_the_days_invariant_catches_a_payout_requested_past_an_open_dispute(
    market: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulation's check, against a guard made blind: it still passes the seller's gate,
    after the dispute did, but sees no dispute."""
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer-sales", key="sale")
    order = await paid_order(market, BUYER, [("prod_mug", 1)], key="held")
    opened = await open_dispute(market, BUYER, order["order_id"], SELLER_A, key="blind-d")
    assert opened.status_code == 201, opened.text
    gated_standing_in = DisputeHolds.gated_standing_in

    async def blind(
        holds: DisputeHolds, session: AsyncClientSession, seller_id: str, currency: str
    ) -> GatedStanding:
        standing = await gated_standing_in(holds, session, seller_id, currency)
        return replace(standing, hold=SellerHold(seller_id, open_disputes=0))

    monkeypatch.setattr(DisputeHolds, "hold_of", lambda _, seller_id: nothing_held(seller_id))
    monkeypatch.setattr(DisputeHolds, "gated_standing_in", blind)
    slipped = await request_payout(market, SELLER_A, key="blind-p", amount=PAYOUT)
    assert slipped.status_code == 201, slipped.text
    await market.services.audit_sealer.seal_pending()

    assert len(await payouts_requested_during_disputes(market.database)) == 1
    with pytest.raises(AssertionError, match=f"while {SELLER_A}'s dispute {opened.json()['dispute_id']}"):
        await no_payout_while_disputed(market.database)


async def nothing_held(seller_id: str) -> SellerHold:
    return SellerHold(seller_id, open_disputes=0)


async def payouts_requested_during_disputes(database: Database) -> list[str]:
    """Each payout whose request was recorded strictly after a dispute on its seller's money was
    opened and before it was closed, by the audit log's times (a millisecond apart at least)."""
    audit = database[Collections.AUDIT_LOG]
    opened: dict[str, datetime] = {}
    closed: dict[str, datetime] = {}
    async for record in audit.find({"object.type": "dispute"}).sort("at", 1):
        dispute_id, at = record["object"]["id"], record["at"].replace(tzinfo=UTC)
        if record["action"] == "dispute.opened":
            opened[dispute_id] = at
        elif (
            record["action"] == "dispute.status_changed"
            and DisputeStatus(record["after"]["status"]) not in OPEN_STATUSES
        ):
            closed.setdefault(dispute_id, at)
    far = datetime.max.replace(tzinfo=UTC)
    slipped = []
    async for record in audit.find({"action": "payout.requested"}):
        at = record["at"].replace(tzinfo=UTC)
        slipped += [
            f"{record['object']['id']} at {at} inside dispute {dispute_id} ({start} - {closed.get(dispute_id)})"
            for dispute_id, start in opened.items()
            if start < at < closed.get(dispute_id, far)
        ]
    return slipped
