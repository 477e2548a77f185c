"""Ten requests at once, from two processes, each for the seller's whole balance: one payout."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from app.db import Collections
from tests.checkout_support import SELLER_A, Marketplace
from tests.payouts_support import MUG_NET, sell_and_settle, seller_with_bank

REPOSITORY = Path(__file__).resolve().parents[3]


async def in_processes(market: Marketplace, seller_id: str, processes: int, count: int) -> list[str]:
    start_at = time.time() + 4  # time for every interpreter to start and connect
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.routers.payouts.racer",
            market.settings.mongodb_uri,
            market.settings.mongodb_database,
            market.emulator.base_url,
            seller_id,
            str(count),
            str(start_at),
            cwd=REPOSITORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    outputs = [await process.communicate() for process in started]
    assert [process.returncode for process in started] == [0] * processes, [err for _, err in outputs]
    return [answer for out, _ in outputs for answer in json.loads(out)]


async def test_ten_requests_for_the_whole_balance_from_two_processes_make_one_payout(
    market: Marketplace,
) -> None:
    account = await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, "buyer", key="sale-1")

    answers = await in_processes(market, SELLER_A, processes=2, count=5)

    assert sorted(answers) == ["insufficient_funds"] * 9 + ["paid_out"]
    made = await market.emulator.stripe_client().v1.payouts.list_async(
        {"limit": 100}, {"stripe_account": account}
    )
    assert [payout.amount for payout in made.data] == [MUG_NET]
    assert await market.database[Collections.PAYOUTS].count_documents({}) == 1
    await market.pump()
    await market.assert_invariants()
