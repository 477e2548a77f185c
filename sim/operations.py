"""What happens in the marketplace, one step at a time, each chosen and parametrised by the
seed: every step acts through the service's HTTP API (in process, over ASGI) or its jobs, on
either instance, and answers a short outcome label for the summary.

A step never asserts what a refusal the service is entitled to make (a 409 on a race, a 502 while
Stripe is failing); it raises `Broken` when the service answers what it must never answer (a 500,
two different orders for one Idempotency-Key, a failed migration reconciliation).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from app.auth import Role
from app.db import Collections
from app.domain.audit import Actor
from app.services.checkout import EscrowReleases, run_transfer_retries
from app.services.migration import MigrationInProgress, RunNotResumable, RunOptions
from app.services.payment_operations import run_operations_janitor
from sim.world import BUYERS, CURRENCY, LATE_PRODUCT, SELLERS, World
from stripe_emulator.testing import EmulatorControlError
from tests.checkout_support import PRODUCTS, Marketplace
from tests.legacy_wallets import insert_legacy_wallet

ADMIN = "sim-admin"
Step = Callable[[World, random.Random], Awaitable[str]]
# Answers a Stripe fault may turn any money-moving call into (documented problems).
PROVIDER_STATUSES = (502, 503, 504)
CATALOG = [
    *[(product, seller, price) for product, seller, _, price in PRODUCTS],
    (LATE_PRODUCT[0], LATE_PRODUCT[1], LATE_PRODUCT[3]),
]


class Broken(AssertionError):
    """The service did what it must never do."""


def outcome(name: str, answer: httpx.Response) -> str:
    """`name` with the answer's status and problem code; a 500 is never acceptable, nor a call
    Stripe refuses for an amount the service should never have asked for."""
    if answer.status_code >= 500 and answer.status_code not in PROVIDER_STATUSES:
        raise Broken(f"{name} answered {answer.status_code}: {answer.text}")
    if answer.status_code in PROVIDER_STATUSES and answer.json().get("stripe_code") == "amount_too_small":
        raise Broken(f"{name} asked Stripe for less than its minimum charge: {answer.text}")
    if answer.status_code < 300:
        return f"{name} {answer.status_code}"
    return f"{name} {answer.status_code} {answer.json().get('code')}"


def instance(world: World, rng: random.Random) -> Marketplace:
    return rng.choice(world.markets)


def buyers(world: World) -> list[str]:
    return [*BUYERS, *world.legacy_wallets]


async def top_up(world: World, rng: random.Random) -> str:
    buyer = rng.choice(buyers(world))
    market = instance(world, rng)
    body = {"amount": rng.randrange(500, 20_000), "currency": CURRENCY}
    answer = await market.client.post(
        "/wallet/topup_request", json=body, headers=market.headers(buyer, key=world.key("topup"))
    )
    label = outcome("top-up", answer)
    if answer.status_code != 201:
        return label
    intent = answer.json()["payment_intent_id"]
    fate = rng.choices(["pay", "fail", "abandon"], [6, 1, 3])[0]
    if fate != "abandon":
        await world.emulator.control_async(
            f"payment_intents/{intent}/{'succeed' if fate == 'pay' else 'fail'}"
        )
    return f"{label} {fate}"


async def check_out(world: World, rng: random.Random) -> str:
    buyer = rng.choice(buyers(world))
    lines = rng.sample(CATALOG, rng.choice([1, 1, 2, 3]))
    items = [(product, rng.choice([1, 1, 2])) for product, _, _ in lines]
    use_wallet = rng.random() < 0.5
    key = world.key("checkout")
    if rng.random() < 0.1:
        # The same request twice at once, on both instances: one order, or the second told to wait.
        answers = await asyncio.gather(
            *(market.checkout(buyer, items, key=key, use_wallet=use_wallet) for market in world.markets)
        )
        made = [answer.json()["order_id"] for answer in answers if answer.status_code == 201]
        if len(set(made)) > 1:
            raise Broken(f"one Idempotency-Key opened two orders: {made}")
        label = " | ".join(outcome("checkout twice", answer) for answer in answers)
        answer = next((a for a in answers if a.status_code == 201), answers[0])
    else:
        answer = await instance(world, rng).checkout(buyer, items, key=key, use_wallet=use_wallet)
        label = outcome("checkout", answer)
    if answer.status_code != 201:
        return label
    order: dict[str, Any] = answer.json()
    world.orders.append(
        {"order_id": order["order_id"], "buyer": buyer, "sellers": sorted({s for _, s, _ in lines})}
    )
    if not order["amount_due"]:
        return f"{label} wallet-paid"
    fate = rng.choices(
        ["pm_card_visa", "pm_card_createDispute", "pm_card_chargeDeclined", "abandon"], [11, 1, 3, 5]
    )[0]
    if fate == "abandon":
        return f"{label} abandoned"
    paid = await world.market.pay_by_card(order, fate)
    return f"{label} {fate} {paid.status_code}"


def _pick_order(world: World, rng: random.Random) -> dict[str, Any] | None:
    return rng.choice(world.orders) if world.orders else None


async def confirm_delivery(world: World, rng: random.Random) -> str:
    order = _pick_order(world, rng)
    if order is None:
        return "confirm: no order"
    seller = rng.choice([None, *order["sellers"]])
    answer = await instance(world, rng).confirm_delivery(
        order["buyer"], order["order_id"], key=world.key("confirm"), seller_id=seller
    )
    return outcome("confirm", answer)


async def _open_dispute(
    world: World, market: Marketplace, order: dict[str, Any], seller: str
) -> httpx.Response:
    body = {
        "order_id": order["order_id"],
        "seller_id": seller,
        "reason": "not_received",
        "description": "Never came",
    }
    answer = await market.client.post(
        "/dispute", json=body, headers=market.headers(order["buyer"], key=world.key("dispute"))
    )
    if answer.status_code == 201:
        world.disputes.append(answer.json()["dispute_id"])
    return answer


async def open_dispute(world: World, rng: random.Random) -> str:
    order = _pick_order(world, rng)
    if order is None:
        return "dispute: no order"
    return outcome(
        "dispute", await _open_dispute(world, instance(world, rng), order, rng.choice(order["sellers"]))
    )


async def dispute_races_delivery(world: World, rng: random.Random) -> str:
    """The buyer disputes on one instance while confirming delivery on the other."""
    order = _pick_order(world, rng)
    if order is None:
        return "race: no order"
    seller = rng.choice(order["sellers"])
    first, second = world.markets if rng.random() < 0.5 else reversed(world.markets)
    disputed, confirmed = await asyncio.gather(
        _open_dispute(world, first, order, seller),
        second.confirm_delivery(
            order["buyer"], order["order_id"], key=world.key("confirm"), seller_id=seller
        ),
    )
    return f"{outcome('race dispute', disputed)} / {outcome('confirm', confirmed)}"


async def resolve_dispute(world: World, rng: random.Random) -> str:
    if not world.disputes:
        return "resolve: no dispute"
    dispute_id = rng.choice(world.disputes)
    dispute = await world.services.database[Collections.DISPUTES].find_one({"_id": dispute_id})
    body: dict[str, Any] = {
        "outcome": rng.choice(["refund_buyer", "release_to_seller", "split"]),
        "note": "seen",
    }
    if body["outcome"] == "split" and dispute is not None:
        body["refund_amount"] = rng.randrange(1, max(dispute["amount"], 2))
    market = instance(world, rng)
    answer = await market.client.post(
        f"/admin/disputes/{dispute_id}/resolve",
        json=body,
        headers=market.headers(ADMIN, Role.ADMIN, key=world.key("resolve")),
    )
    return outcome(f"resolve {body['outcome']}", answer)


async def admin_refund(world: World, rng: random.Random) -> str:
    order = _pick_order(world, rng)
    if order is None:
        return "refund: no order"
    body: dict[str, Any] = {"seller_id": rng.choice(order["sellers"]), "reason": "asked by the buyer"}
    if rng.random() < 0.5:
        body["amount"] = rng.randrange(1, 5_000)
    markets = world.markets if rng.random() < 0.15 else (instance(world, rng),)
    answers = await asyncio.gather(
        *(
            market.client.post(
                f"/admin/orders/{order['order_id']}/refunds",
                json=body,
                headers=market.headers(ADMIN, Role.ADMIN, key=world.key("refund")),
            )
            for market in markets
        )
    )
    return " | ".join(outcome("refund", answer) for answer in answers)


async def chargeback(world: World, rng: random.Random) -> str:
    """The cardholder disputes an order's charge with their bank (before or after release)."""
    charged = [order for order in world.orders if order.get("charge_id")]
    if not charged:
        await _learn_charges(world)
        charged = [order for order in world.orders if order.get("charge_id")]
    if not charged:
        return "chargeback: no charge"
    order = rng.choice(charged)
    if order.get("charged_back"):
        return "chargeback: charged back already"
    order["charged_back"] = True
    try:
        await world.emulator.control_async(f"charges/{order['charge_id']}/dispute")
    except EmulatorControlError as refused:  # a fully refunded charge cannot be disputed
        return f"chargeback refused: {str(refused)[:60]}"
    return "chargeback opened"


async def _learn_charges(world: World) -> None:
    for order in world.orders:
        if "charge_id" not in order:
            document = await world.services.database[Collections.ORDERS].find_one({"_id": order["order_id"]})
            if document and document.get("charge_id"):
                order["charge_id"] = document["charge_id"]


async def chargeback_decided(world: World, rng: random.Random) -> str:
    disputes = await world.emulator.stripe_client().v1.disputes.list_async({"limit": 100})
    undecided = sorted(
        (dispute for dispute in disputes.data if dispute.status in ("needs_response", "under_review")),
        key=lambda dispute: dispute.created,
    )
    if not undecided:
        return "chargeback decided: none open"
    dispute = rng.choice(undecided)
    verdict = rng.choice(["win", "lose"])
    await world.emulator.control_async(f"disputes/{dispute.id}/{verdict}")
    return f"chargeback {verdict}"


async def time_passes(world: World, rng: random.Random) -> str:
    """Hours or days go by: Stripe's work due meanwhile happens, unpaid orders and top-ups expire,
    escrows held past the auto-release delay are released."""
    hours = rng.choice([1, 6, 24, 24 * 4, 24 * 15])
    world.clock.offset += timedelta(hours=hours)
    await world.emulator.control_async("clock/advance", seconds=hours * 3600)
    services = instance(world, rng).services
    expired = await services.checkout.expire_unpaid(timedelta(0), Actor.job("expire_orders"))
    if hours >= 24:
        await services.topup_expiry.expire_unpaid(timedelta(0))
    releases = EscrowReleases(
        services.database,
        services.ledger,
        services.audit_log,
        services.seller_transfers,
        services.seller_debts,
        timedelta(days=world.settings.escrow_auto_release_days),
        clock=world.clock,
    )
    released = await releases.release_due(Actor.job("release_due_escrows"))
    let_go = released.get("transferred", 0) + released.get("released", 0)
    return f"{hours}h passed: expired {sum(expired.values())}, auto-released {let_go}"


async def seller_account_changes(world: World, rng: random.Random) -> str:
    """Stripe verifies, restricts or asks again about a seller's account."""
    seller = rng.choice(SELLERS)
    change = rng.choices(["verify", "restrict", "review"], [3, 1, 1])[0]
    await world.emulator.control_async(f"accounts/{world.accounts[seller]}/{change}")
    return f"account {seller} {change}"


async def request_payout(world: World, rng: random.Random) -> str:
    seller = rng.choice(SELLERS)
    market = instance(world, rng)
    body: dict[str, Any] = {"seller_id": seller, "currency": CURRENCY}
    if rng.random() < 0.3:
        body["amount"] = rng.randrange(100, 5_000)
    markets = world.markets if rng.random() < 0.15 else (market,)
    answers = await asyncio.gather(
        *(
            each.client.post(
                "/payouts", json=body, headers=each.headers(seller, Role.SELLER, key=world.key("payout"))
            )
            for each in markets
        )
    )
    labels = [outcome("payout", answer) for answer in answers]
    for answer in answers:
        payout = answer.json() if answer.status_code in (200, 201) else {}
        if payout.get("stripe_payout_id") and payout.get("status") == "pending" and rng.random() < 0.7:
            verdict = "pay" if rng.random() < 0.8 else "fail"
            try:
                await world.emulator.control_async(f"payouts/{payout['stripe_payout_id']}/{verdict}")
            except EmulatorControlError:  # the bank decided first (a closed account fails at once)
                verdict = "decided by the bank"
            labels.append(verdict)
    return " | ".join(labels)


async def settle(world: World, rng: random.Random) -> str:
    await world.emulator.control_async("clock/advance", seconds=0)
    await world.emulator.control_async("balance/settle")
    return "settled"


async def legacy_credit(world: World, rng: random.Random) -> str:
    """The legacy system holds a wallet for a user the new one has not seen yet (now and then
    one it cannot migrate: a fraction of a cent)."""
    user = f"legacy_{len(world.legacy_wallets)}"
    cents = rng.randrange(100, 50_000)
    bad = rng.random() < 0.1
    balance = f"{cents // 100}.{cents % 100:02d}{'5' if bad else ''}"
    await insert_legacy_wallet(world.services.database, user, balance)
    world.legacy_wallets[user] = balance
    return f"legacy wallet {'bad' if bad else 'good'}"


async def migration_run(world: World, rng: random.Random) -> str:
    """A bulk migration run, sometimes stopped half-way and resumed."""
    runs = instance(world, rng).services.migration_runs
    actor = Actor.user(ADMIN)
    options = RunOptions(batch_size=rng.choice([1, 2, 5, 100]))
    try:
        if rng.random() < 0.3:
            started = asyncio.create_task(runs.start(options, actor))
            await asyncio.sleep(rng.uniform(0, 0.05))
            started.cancel()
            try:
                report = await started
            except asyncio.CancelledError:
                await runs.lease.release()
                page = await runs.page(1, None)
                if not page.data or page.data[0].status not in ("running", "interrupted"):
                    return "migration cancelled before it began"
                report = await runs.resume(page.data[0].id, actor)
                return _checked(report, "migration resumed")
        else:
            report = await runs.start(options, actor)
    except (MigrationInProgress, RunNotResumable) as refused:
        return f"migration refused {refused.code}"
    return _checked(report, "migration run")


def _checked(report: Any, label: str) -> str:
    if not report.ok:
        raise Broken(f"{label} does not reconcile: {report}")
    return f"{label} {report.status}"


async def janitor(world: World, rng: random.Random) -> str:
    """The background jobs take over whatever was left half-done: Stripe calls with an unknown
    outcome, transfers not made, chargeback recoveries."""
    services = instance(world, rng).services
    settled = await run_operations_janitor(services.database, services.payment_operations, timedelta(0))
    await run_transfer_retries(services.database, services.seller_transfers, timedelta(0))
    await services.seller_recovery.retry_pending(Actor.job("recover_chargebacks"), timedelta(0))
    return f"janitor {sum(settled.values()) if settled else 0}"


async def cancelled_worker(world: World, rng: random.Random) -> str:
    """A request dies half-way (its worker cancelled); the jobs take its work over."""
    step = rng.choice([confirm_delivery, admin_refund, request_payout, check_out])
    task = asyncio.create_task(step(world, rng))
    await asyncio.sleep(rng.uniform(0, 0.05))
    task.cancel()
    try:
        label = await task
    except asyncio.CancelledError:
        label = "cancelled"
    return f"{step.__name__} {label} then {await janitor(world, rng)}"


# Each step with its weight.
STEPS: list[tuple[Step, int]] = [
    (top_up, 12),
    (check_out, 16),
    (confirm_delivery, 10),
    (open_dispute, 4),
    (dispute_races_delivery, 2),
    (resolve_dispute, 4),
    (admin_refund, 3),
    (chargeback, 2),
    (chargeback_decided, 2),
    (time_passes, 4),
    (seller_account_changes, 3),
    (request_payout, 5),
    (settle, 4),
    (legacy_credit, 2),
    (migration_run, 1),
    (janitor, 2),
    (cancelled_worker, 2),
]


def choose(rng: random.Random) -> Step:
    steps, weights = zip(*STEPS, strict=True)
    chosen: Step = rng.choices(steps, weights)[0]
    return chosen
