"""Refunds outside disputes: never more than was paid, per source or in total, whoever asks and
however many at once; a card refund as Stripe runs it, its failure restored and shown to admins,
then given to the wallet instead."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.auth import Role
from app.db import Collections
from app.domain.audit import Actor
from app.domain.checkout import EscrowStatus, ReleaseReason
from app.domain.ledger import Accounts
from tests.checkout_support import SELLER_B, Marketplace
from tests.routers.disputes.support import ADMIN, escrow_of, paid_order, refund_order, stripe_refunds

REPOSITORY = Path(__file__).resolve().parents[3]


async def test_a_failed_card_refund_is_restored_shown_to_admins_and_can_go_to_the_wallet(
    market: Marketplace,
) -> None:
    order = await paid_order(
        market, "buyer-f", [("prod_tea", 1)], key="f-1", payment_method="pm_card_refundFail"
    )
    order_id = order["order_id"]

    refunded = await refund_order(market, order_id, key="rf-1", seller_id=SELLER_B)
    assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    assert (refund["status"], refund["parts"]) == ("pending", {"legacy": 0, "wallet": 0, "card": 1299})
    assert await market.balance(Accounts.escrow(order_id, SELLER_B)) == 0  # Stripe took it

    (stripe_refund,) = await stripe_refunds(market, order["payment_intent_id"])
    await market.emulator.control_async(
        f"refunds/{stripe_refund.id}/fail", failure_reason="expired_or_canceled_card"
    )
    await market.pump()

    failed = await market.client.get(
        "/admin/refunds?status=failed", headers=market.headers(ADMIN, Role.SUPPORT)
    )
    (shown,) = failed.json()["data"]
    assert (shown["refund_id"], shown["failure_reason"]) == (refund["refund_id"], "expired_or_canceled_card")
    assert await market.balance(Accounts.escrow(order_id, SELLER_B)) == 1299  # the ledger restored
    await market.assert_invariants()

    not_failed_yet = await market.client.post(
        "/admin/refunds/rf_unknown/retry-to-wallet",
        json={"note": "x"},
        headers=market.headers(ADMIN, Role.ADMIN, key="w-0"),
    )
    assert not_failed_yet.status_code == 404
    to_wallet = await market.client.post(
        f"/admin/refunds/{refund['refund_id']}/retry-to-wallet",
        json={"note": "the card is closed"},
        headers=market.headers(ADMIN, Role.ADMIN, key="w-1"),
    )
    assert to_wallet.json()["status"] == "retried_to_wallet"
    again = await market.client.post(
        f"/admin/refunds/{refund['refund_id']}/retry-to-wallet",
        json={"note": "again"},
        headers=market.headers(ADMIN, Role.ADMIN, key="w-2"),
    )
    assert again.json()["status"] == "retried_to_wallet"
    assert await market.balance(Accounts.buyer_wallet("buyer-f")) == 1299
    assert await market.balance(Accounts.escrow(order_id, SELLER_B)) == 0
    await market.assert_invariants()


async def test_nothing_is_refunded_beyond_what_was_paid(market: Marketplace) -> None:
    await market.top_up("buyer-x", 1000)
    order = await paid_order(market, "buyer-x", [("prod_tea", 1)], key="x-1", use_wallet=True)
    order_id = order["order_id"]
    assert (await escrow_of(market, order_id, SELLER_B))["funding"] == {
        "legacy": 0,
        "wallet": 1000,
        "card": 299,
    }

    too_much = await refund_order(market, order_id, key="x-r1", seller_id=SELLER_B, amount=1300)
    assert (too_much.status_code, too_much.json()["code"], too_much.json()["refundable"]) == (
        409,
        "refund_exceeds_paid",
        1299,
    )
    beyond_the_source = await refund_order(
        market, order_id, key="x-r2", seller_id=SELLER_B, amount=300, sources=["card"]
    )
    assert (beyond_the_source.json()["code"], beyond_the_source.json()["refundable"]) == (
        "refund_exceeds_paid",
        299,
    )
    part = await refund_order(
        market, order_id, key="x-r3", seller_id=SELLER_B, amount=1001, sources=["wallet", "card"]
    )
    assert part.json()["parts"] == {"legacy": 0, "wallet": 1000, "card": 1}
    rest = await refund_order(market, order_id, key="x-r4", seller_id=SELLER_B)
    assert rest.json()["parts"] == {"legacy": 0, "wallet": 0, "card": 298}
    second_full = await refund_order(market, order_id, key="x-r5", seller_id=SELLER_B)
    assert (second_full.status_code, second_full.json()["code"]) == (409, "escrow_not_refundable")
    replayed = await refund_order(market, order_id, key="x-r4", seller_id=SELLER_B)
    assert replayed.json()["refund_id"] == rest.json()["refund_id"]
    assert sorted(r.amount for r in await stripe_refunds(market, order["payment_intent_id"])) == [1, 298]
    escrow = await escrow_of(market, order_id, SELLER_B)
    assert (escrow["status"], escrow["refunded"]) == ("refunded", escrow["funding"])

    as_buyer = await market.client.post(
        f"/admin/orders/{order_id}/refunds",
        json={"seller_id": SELLER_B, "reason": "x"},
        headers=market.headers("buyer-x", key="x-r6"),
    )
    assert as_buyer.status_code == 403
    unknown = await refund_order(market, "ord_unknown", key="x-r7", seller_id=SELLER_B)
    assert unknown.status_code == 404
    await market.assert_invariants()


async def in_processes(market: Marketplace, order_id: str, *actions: str, count: int = 3) -> list[Any]:
    start_at = time.time() + 4  # time for every interpreter to start and connect
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.routers.disputes.racer",
            market.settings.mongodb_uri,
            market.settings.mongodb_database,
            market.emulator.base_url,
            action,
            order_id,
            SELLER_B,
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


async def test_full_refunds_racing_each_other_and_a_release_from_other_processes_happen_once(
    market: Marketplace,
) -> None:
    await market.seller_account(SELLER_B)
    await market.top_up("buyer-r", 2000)
    order = await paid_order(market, "buyer-r", [("prod_board", 1)], key="r-1", use_wallet=True)
    order_id = order["order_id"]
    await market.settle()

    refunds, more_refunds, releases = await in_processes(market, order_id, "refund", "refund", "release")
    outcomes = [*refunds, *more_refunds]
    released = [status for status in releases if status in ("released", "transferred")]
    refunded = [status for status in outcomes if status in ("pending", "succeeded")]
    assert len(refunded) + (1 if released else 0) == 1, (outcomes, releases)
    assert set(outcomes) - {"pending", "succeeded"} <= {"escrow_not_refundable"}
    escrow = await escrow_of(market, order_id, SELLER_B)
    entries = market.database[Collections.JOURNAL_ENTRIES]
    if released:
        assert escrow["status"] == "transferred"
        assert await entries.count_documents({"kind": "refund"}) == 0
        assert set(releases) <= {"released", "transferred"}
    else:
        assert escrow["status"] == "refunded"
        assert set(releases) == {"refunded"}
        assert await entries.count_documents({"kind": "escrow_release"}) == 0
        assert await market.balance(Accounts.buyer_wallet("buyer-r")) == 2000
        assert len(await stripe_refunds(market, order["payment_intent_id"])) == 1
    await market.assert_invariants()


async def test_a_release_that_read_the_escrow_before_a_full_refund_finds_it_refunded(
    market: Marketplace,
) -> None:
    await market.seller_account(SELLER_B)
    await market.top_up("buyer-s", 2000)
    order = await paid_order(market, "buyer-s", [("prod_board", 1)], key="s-1", use_wallet=True)
    releases = market.services.escrow_releases
    stale = await releases.escrow((await escrow_of(market, order["order_id"], SELLER_B))["_id"])

    refunded = await refund_order(market, order["order_id"], key="rf-s", seller_id=SELLER_B)
    assert refunded.status_code == 201, refunded.text
    # The escrow's account is empty now: the stale release must see why, not fail on the ledger's floor.
    found = await releases.release(
        stale, reason=ReleaseReason.DELIVERY_CONFIRMED, actor=Actor.user("buyer-s")
    )

    assert found.status is EscrowStatus.REFUNDED
    assert await market.database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "escrow_release"}) == 0
    await market.assert_invariants()
