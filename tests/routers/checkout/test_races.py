"""Races from several processes: delivery confirmed twice at once and while the auto-release job
runs, the PaymentIntent's success handled many times at once and its events delivered twice and
out of order: one payment, one release and one transfer per escrow, one ledger entry each."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.db import Collections
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace

REPOSITORY = Path(__file__).resolve().parents[3]


async def in_processes(market: Marketplace, order_id: str, *actions: str, count: int = 4) -> list[Any]:
    start_at = time.time() + 4  # time for every interpreter to start and connect
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.routers.checkout.racer",
            market.settings.mongodb_uri,
            market.settings.mongodb_database,
            market.emulator.base_url,
            action,
            order_id,
            str(count),
            str(start_at),
            cwd=REPOSITORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for action in actions
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0] * len(actions), [err for _, err in outputs]
    return [json.loads(out) for out, _ in outputs]


async def count(market: Marketplace, collection: str, query: dict[str, Any]) -> int:
    return await market.database[collection].count_documents(query)


async def card_order(market: Marketplace, key: str) -> dict[str, Any]:
    order: dict[str, Any] = (
        await market.checkout("buyer", [("prod_mug", 1), ("prod_tea", 1)], key=key)
    ).json()
    return order


async def test_payment_handled_at_once_from_two_processes_and_its_events_twice_out_of_order_pays_once(
    market: Marketplace,
) -> None:
    order = await card_order(market, "race-pay")
    await market.emulator.control_async(f"payment_intents/{order['payment_intent_id']}/succeed")

    outcomes = await in_processes(market, order["order_id"], "pay", "pay")
    assert sorted(outcome for outputs in outcomes for outcome in outputs) == [False] * 7 + [True]
    events = (await market.emulator.inspect_async("events"))["data"]  # newest first: out of order
    for event in [*events, *events]:
        market.delivered.discard(event["id"])
        await market.deliver(event)
    await market.services.webhook_processor.process_due(limit=100)

    assert (
        await count(
            market, Collections.JOURNAL_ENTRIES, {"_id": f"checkout_card:{order['payment_intent_id']}"}
        )
        == 1
    )
    assert await count(market, Collections.ESCROWS, {"order_id": order["order_id"], "status": "held"}) == 2
    assert (
        await count(market, Collections.AUDIT_PENDING, {"action": "order.status_changed"})
        + await count(market, Collections.AUDIT_LOG, {"action": "order.status_changed"})
        == 1
    )
    await market.assert_invariants()


async def test_delivery_confirmed_from_two_processes_while_auto_release_runs_releases_and_transfers_once(
    market: Marketplace,
) -> None:
    accounts = {
        SELLER_A: await market.seller_account(SELLER_A),
        SELLER_B: await market.seller_account(SELLER_B),
    }
    order = await card_order(market, "race-release")
    await market.pay_by_card(order)
    await market.pump()

    outcomes = await in_processes(market, order["order_id"], "confirm", "confirm", "auto")
    for statuses in [*outcomes[0], *outcomes[1]]:
        assert set(statuses) <= {"released", "transferred"}

    assert await count(market, Collections.JOURNAL_ENTRIES, {"kind": "escrow_release"}) == 2
    assert await count(market, Collections.JOURNAL_ENTRIES, {"kind": "transfer"}) == 2
    transfers = (await market.emulator.stripe_client().v1.transfers.list_async({"limit": 100})).data
    assert sorted((t.destination, t.amount) for t in transfers) == sorted(
        [(accounts[SELLER_A], 1800 - 180), (accounts[SELLER_B], 1299 - 130)]
    )
    assert await count(market, Collections.ESCROWS, {"status": "transferred"}) == 2
    await market.assert_invariants()
