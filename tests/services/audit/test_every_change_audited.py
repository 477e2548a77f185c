"""A walk through every state-changing path of the service: each leaves its audit record, with its
action, subject and actor, in the transaction of the change, and the chain verifies afterwards.

Each row is one change, made through the real service (HTTP routes, Stripe's events from the
emulator through the webhook pipeline, the jobs) on a fresh database. The trail of the change's
writes (`walk.py`) proves that every write of a state-changing writer committed with an audit
record in its transaction, whichever row sent it; `test_inventory.py` proves the rows together
reach every such writer, and that the inventory names every writer the source holds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.stripe_errors import PaymentOutcomeUnknown
from app.auth import Role
from app.config import Settings
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from app.domain.checkout import escrow_id_for
from app.domain.disputes import recovery_id_for
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.reconciliation import Adjustment, DiscrepancyStatus, Resolution, RunTrigger
from app.services.migration import RunOptions
from app.services.payment_operations import JANITOR_JOB, run_operations_janitor
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace, seed_catalog
from tests.conftest import make_settings
from tests.legacy_wallets import insert_legacy_wallet
from tests.payouts_support import CLOSED_BANK, request_payout, sell_and_settle, seller_with_bank
from tests.routers.disputes.support import (
    ADMIN,
    escrow_of,
    open_dispute,
    paid_order,
    refund_order,
    resolve,
    stripe_refunds,
)
from tests.routers.disputes.test_chargebacks import chargeback_of, dispute_at_stripe
from tests.services.audit.walk import (
    Expected,
    Row,
    World,
    admin,
    check_records,
    check_trail,
    job,
    row,
    system,
    user,
    webhook,
)
from tests.services.reconciliation.support import earlier, today
from tests.stripe_events import new_id, stripe_event, stripe_object

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

BUYER = "buyer-w"
# A refund's, a payout's, an account's and a chargeback's handlers read the object from Stripe:
# whichever of its events is processed first makes the change.
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refunded")
DISPUTE_OPENED = ("charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.updated")
PAYOUT_EVENTS = ("payout.created", "payout.updated", "payout.paid", "payout.failed")
ACCOUNT_EVENTS = ("account.updated", "capability.updated")
DISPUTE_CLOSED = ("charge.dispute.closed", "charge.dispute.funds_reinstated", "charge.dispute.updated")
MIGRATION_JOB = Actor.job("migrate_legacy_wallets")


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
        seller_balance_cache_seconds=0,
        # A Stripe call whose answer is lost is not tried again: its outcome is unknown at once.
        stripe_max_network_retries=0,
        stripe_retry_attempts=1,
    )


@pytest.fixture
async def market(
    app: FastAPI, client: httpx.AsyncClient, emulator: EmulatorServer, settings: Settings
) -> Marketplace:
    services: Services = app.state.services
    await seed_catalog(services.database)
    return Marketplace(services, client, emulator, settings)


async def platform_funds(market: Marketplace) -> None:
    """Money available on the platform's Stripe balance, from another buyer's top-up, for
    transfers that are not paid from their order's charge."""
    await market.top_up("buyer-rich", 20_000)
    await market.settle()


# Wallet top-ups


async def topup_paid_by_card(world: World) -> list[Expected]:
    market = world.market
    async with world.change():
        topup = await market.services.topups.request(BUYER, Money(2500, "usd"), "walk-1")
        await market.emulator.control_async(f"payment_intents/{topup.payment_intent_id}/succeed")
        await market.settle()
    fee = await market.database[Collections.JOURNAL_ENTRIES].find_one(
        {"kind": str(EntryKind.STRIPE_FEE), "refs.payment_intent": topup.payment_intent_id}
    )
    assert fee is not None
    return [
        Expected("topup.opened", "topup", topup.id, user(BUYER)),
        Expected("topup.status_changed", "topup", topup.id, webhook("payment_intent.succeeded")),
        Expected(
            "stripe_fee.recorded",
            "stripe_fee",
            fee["refs"]["balance_transaction"],
            webhook("payment_intent.succeeded", "charge.updated"),
        ),
    ]


async def topup_failed_and_another_expired(world: World) -> list[Expected]:
    market = world.market
    declined = await market.services.topups.request(BUYER, Money(900, "usd"), "walk-2")
    unpaid = await market.services.topups.request(BUYER, Money(800, "usd"), "walk-2b")
    async with world.change():
        await market.emulator.control_async(f"payment_intents/{declined.payment_intent_id}/fail")
        await market.pump()
        await market.services.topup_expiry.expire_unpaid(timedelta(0))
        await market.pump()
    return [
        Expected("topup.status_changed", "topup", declined.id, webhook("payment_intent.payment_failed")),
        Expected("topup.status_changed", "topup", unpaid.id, job("expire_topups")),
    ]


async def topup_intent_learnt_by_the_janitor(world: World) -> list[Expected]:
    market = world.market
    await market.emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, drop_response=True
    )
    with pytest.raises(PaymentOutcomeUnknown):
        await market.services.topups.request(BUYER, Money(1200, "usd"), "walk-3")
    topup = await market.database[Collections.TOPUPS].find_one({"user_id": BUYER})
    assert topup is not None
    async with world.change():
        await run_operations_janitor(
            market.database, market.services.payment_operations, older_than=timedelta(0)
        )
    return [Expected("topup.payment_intent_learnt", "topup", topup["_id"], job(JANITOR_JOB))]


async def payment_operation_flagged_for_review(world: World) -> list[Expected]:
    market = world.market
    await market.emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, status=500
    )
    with pytest.raises(PaymentOutcomeUnknown):
        await market.services.topups.request(BUYER, Money(1300, "usd"), "walk-4")
    topup = await market.database[Collections.TOPUPS].find_one({"user_id": BUYER})
    assert topup is not None
    operation_id = f"topup:{topup['_id']}"
    # Stripe keeps an idempotency key a day: past it, the call is looked for by its metadata.
    day_ago = timedelta(hours=25)
    operations = market.database[Collections.PAYMENT_OPERATIONS]
    stored = await operations.find_one({"_id": operation_id})
    assert stored is not None
    await operations.update_one(
        {"_id": operation_id},
        {
            "$set": {
                "created_at": stored["created_at"] - day_ago,
                "updated_at": stored["updated_at"] - day_ago,
            }
        },
    )
    async with world.change():
        await run_operations_janitor(
            market.database, market.services.payment_operations, older_than=timedelta(0)
        )
    return [
        Expected("payment_operation.flagged_for_review", "payment_operation", operation_id, job(JANITOR_JOB)),
        Expected("topup.status_changed", "topup", topup["_id"], job(JANITOR_JOB)),
    ]


# Checkout, release and transfers


async def order_paid_by_card(world: World) -> list[Expected]:
    market = world.market
    await market.seller_account(SELLER_B)
    async with world.change():
        order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-5")
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    return [
        Expected("order.opened", "order", order["order_id"], user(BUYER)),
        Expected("escrow.opened", "escrow", escrow, user(BUYER)),
        Expected("order.status_changed", "order", order["order_id"], webhook("payment_intent.succeeded")),
        Expected("escrow.status_changed", "escrow", escrow, webhook("payment_intent.succeeded")),
    ]


async def order_canceled(world: World) -> list[Expected]:
    market = world.market
    opened = await market.checkout(BUYER, [("prod_tea", 1)], key="walk-6")
    order = opened.json()
    async with world.change():
        await market.emulator.stripe_client().v1.payment_intents.cancel_async(order["payment_intent_id"])
        await market.pump()
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    return [
        Expected("order.status_changed", "order", order["order_id"], webhook("payment_intent.canceled")),
        Expected("escrow.status_changed", "escrow", escrow, webhook("payment_intent.canceled")),
    ]


async def order_from_wallet_and_legacy_then_released(world: World) -> list[Expected]:
    """Wallet, legacy balance and card pay one order; its release sends two transfers."""
    market = world.market
    await market.seller_account(SELLER_B)
    await market.top_up(BUYER, 500)
    await platform_funds(market)
    await insert_legacy_wallet(market.database, BUYER, "5.00")
    async with world.change():
        order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-7", use_wallet=True)
        released = await market.confirm_delivery(BUYER, order["order_id"], key="walk-7-d")
        assert released.status_code == 200, released.text
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    return [
        Expected("legacy_wallet.migrated", "legacy_wallet", BUYER, user(BUYER)),
        Expected("order.opened", "order", order["order_id"], user(BUYER)),
        Expected("order.status_changed", "order", order["order_id"], webhook("payment_intent.succeeded")),
        Expected("escrow.status_changed", "escrow", escrow, user(BUYER), times=2),  # released, transferred
        Expected("seller_transfer.created", "seller_transfer", f"{escrow}_card", user(BUYER)),
        Expected("seller_transfer.created", "seller_transfer", f"{escrow}_balance", user(BUYER)),
        Expected("seller_transfer.status_changed", "seller_transfer", f"{escrow}_card", user(BUYER)),
        Expected("seller_transfer.status_changed", "seller_transfer", f"{escrow}_balance", user(BUYER)),
    ]


async def transfer_waits_for_the_seller(world: World) -> list[Expected]:
    market = world.market
    account = await market.seller_account(SELLER_B, verified=False)
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-8")
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    async with world.change():
        await market.confirm_delivery(BUYER, order["order_id"], key="walk-8-d")
        await market.emulator.control_async(f"accounts/{account}/verify")
        await market.pump()
    transfer = f"{escrow}_card"
    # The seller able to receive signals the transfers waiting for them (`seller_transfer_signal`).
    signal = system("seller_transfer_signal")
    return [
        Expected("escrow.status_changed", "escrow", escrow, user(BUYER)),
        Expected("seller_transfer.created", "seller_transfer", transfer, user(BUYER)),
        Expected("seller_account.status_changed", "seller_account", account, webhook(*ACCOUNT_EVENTS)),
        Expected("seller_transfer.status_changed", "seller_transfer", transfer, signal, times=2),
        Expected("escrow.status_changed", "escrow", escrow, signal),
    ]


# Refunds


async def card_refund_failed_then_given_to_the_wallet(world: World) -> list[Expected]:
    market = world.market
    order = await paid_order(
        market, BUYER, [("prod_tea", 1)], key="walk-9", payment_method="pm_card_refundFail"
    )
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    async with world.change():
        refunded = await refund_order(market, order["order_id"], key="walk-9-r", seller_id=SELLER_B)
        refund = refunded.json()
        (stripe_refund,) = await stripe_refunds(market, order["payment_intent_id"])
        await market.emulator.control_async(
            f"refunds/{stripe_refund.id}/fail", failure_reason="expired_or_canceled_card"
        )
        await market.pump()
        to_wallet = await market.client.post(
            f"/admin/refunds/{refund['refund_id']}/retry-to-wallet",
            json={"note": "the card is closed"},
            headers=market.headers(ADMIN, Role.ADMIN, key="walk-9-w"),
        )
        assert to_wallet.status_code == 200, to_wallet.text
    refund_id = refund["refund_id"]
    return [
        Expected("refund.created", "refund", refund_id, admin(ADMIN)),
        Expected("escrow.refunded", "escrow", escrow, admin(ADMIN)),
        Expected("refund.card_accepted", "refund", refund_id, admin(ADMIN)),
        Expected("refund.status_changed", "refund", refund_id, webhook(*REFUND_EVENTS)),
        Expected("refund.status_changed", "refund", refund_id, admin(ADMIN)),
    ]


async def wallet_order_refunded(world: World) -> list[Expected]:
    market = world.market
    await market.top_up(BUYER, 2000)
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-10", use_wallet=True)
    async with world.change():
        refunded = await refund_order(market, order["order_id"], key="walk-10-r", seller_id=SELLER_B)
        assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    escrow = escrow_id_for(order["order_id"], SELLER_B)
    return [
        Expected("refund.created", "refund", refund["refund_id"], admin(ADMIN)),
        Expected("escrow.refunded", "escrow", escrow, admin(ADMIN)),
    ]


# Disputes and chargebacks


async def buyer_dispute_with_evidence_resolved_by_refund(world: World) -> list[Expected]:
    market = world.market
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-11")
    async with world.change():
        opened = await open_dispute(market, BUYER, order["order_id"], SELLER_B, key="walk-11-d")
        assert opened.status_code == 201, opened.text
        dispute_id = opened.json()["dispute_id"]
        added = await market.client.post(
            f"/dispute/{dispute_id}/evidence", json={"text": "never came"}, headers=market.headers(BUYER)
        )
        assert added.status_code == 201, added.text
        resolved = await resolve(market, dispute_id, key="walk-11-r", outcome="refund_buyer")
        assert resolved.status_code == 200, resolved.text
    return [
        Expected("dispute.opened", "dispute", dispute_id, user(BUYER)),
        Expected("dispute.evidence_added", "dispute", dispute_id, user(BUYER)),
        Expected("dispute.status_changed", "dispute", dispute_id, admin(ADMIN)),
    ]


async def notification_read(world: World) -> list[Expected]:
    market = world.market
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-12")
    await open_dispute(market, BUYER, order["order_id"], SELLER_B, key="walk-12-d")
    listed = await market.client.get("/admin/notifications", headers=market.headers(ADMIN, Role.ADMIN))
    [note] = listed.json()["data"]
    async with world.change():
        read = await market.client.post(
            f"/admin/notifications/{note['notification_id']}/read", headers=market.headers(ADMIN, Role.ADMIN)
        )
        assert read.status_code == 200, read.text
    return [Expected("notification.read", "notification", note["notification_id"], admin(ADMIN))]


async def chargeback_after_transfer_becomes_debt_taken_then_won(world: World) -> list[Expected]:
    market = world.market
    account = await market.seller_account(SELLER_B)
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-13")
    await market.confirm_delivery(BUYER, order["order_id"], key="walk-13-d")
    await market.settle()
    stripe = market.emulator.stripe_client()
    await stripe.v1.payouts.create_async({"amount": 1169, "currency": "usd"}, {"stripe_account": account})
    await platform_funds(market)
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    async with world.change():
        await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
        await market.pump()
        later = await paid_order(market, BUYER, [("prod_board", 1)], key="walk-13-2")
        await market.confirm_delivery(BUYER, later["order_id"], key="walk-13-d2")
        stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
        await market.emulator.control_async(f"disputes/{stripe_dispute.id}/win")
        await market.pump()
    chargeback = await chargeback_of(market, order["order_id"])
    recovery = recovery_id_for(chargeback["_id"], SELLER_B)
    debt = f"{SELLER_B}|usd"
    created, closed = webhook(*DISPUTE_OPENED), webhook(*DISPUTE_CLOSED)
    return [
        Expected("dispute.opened", "dispute", chargeback["_id"], created),
        Expected("dispute.funds_withdrawn", "dispute", chargeback["_id"], created),
        Expected("seller_recovery.started", "seller_recovery", recovery, created),
        Expected("seller_recovery.became_debt", "seller_recovery", recovery, created),
        Expected("seller_debt.changed", "seller_debt", debt, created),
        Expected("seller_debt.changed", "seller_debt", debt, user(BUYER)),
        Expected("dispute.funds_reinstated", "dispute", chargeback["_id"], closed),
        Expected("seller_recovery.stopped", "seller_recovery", recovery, closed),
        Expected("seller_recovery.repaid", "seller_recovery", recovery, closed),
    ]


async def chargeback_after_transfer_reversed(world: World) -> list[Expected]:
    market = world.market
    await market.seller_account(SELLER_B)
    order = await paid_order(market, BUYER, [("prod_tea", 1)], key="walk-14")
    await market.confirm_delivery(BUYER, order["order_id"], key="walk-14-d")
    escrow = await escrow_of(market, order["order_id"], SELLER_B)
    async with world.change():
        await market.emulator.control_async(f"charges/{escrow['charge_id']}/dispute")
        await market.pump()
        stripe_dispute = await dispute_at_stripe(market, escrow["charge_id"])
        await market.emulator.control_async(f"disputes/{stripe_dispute.id}/lose")
        await market.pump()
    chargeback = await chargeback_of(market, order["order_id"])
    recovery = recovery_id_for(chargeback["_id"], SELLER_B)
    return [
        Expected("seller_recovery.reversed", "seller_recovery", recovery, webhook(*DISPUTE_OPENED)),
        Expected("dispute.status_changed", "dispute", chargeback["_id"], webhook(*DISPUTE_CLOSED)),
    ]


async def chargeback_evidence_submitted(world: World) -> list[Expected]:
    market = world.market
    order = await paid_order(
        market, BUYER, [("prod_tea", 1)], key="walk-20", payment_method="pm_card_createDispute"
    )
    await market.pump()
    chargeback = await chargeback_of(market, order["order_id"])
    async with world.change():
        answer = await market.client.post(
            f"/admin/disputes/{chargeback['_id']}/submit-evidence",
            json={"product_description": "A tin of tea", "shipping_carrier": "UPS"},
            headers=market.headers(ADMIN, Role.ADMIN, key="walk-20-e"),
        )
        assert answer.status_code == 200, answer.text
    return [Expected("dispute.evidence_submitted", "dispute", chargeback["_id"], admin(ADMIN))]


# Sellers and payouts


async def payout_paid(world: World) -> list[Expected]:
    market = world.market
    await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, BUYER, key="walk-15")
    async with world.change():
        answer = await request_payout(market, SELLER_A, key="walk-15-p")
        assert answer.status_code == 201, answer.text
        await market.emulator.control_async(f"payouts/{answer.json()['stripe_payout_id']}/pay")
        await market.pump()
    payout = answer.json()["payout_id"]
    return [
        Expected("payout.requested", "payout", payout, user(SELLER_A)),
        Expected("payout.status_changed", "payout", payout, user(SELLER_A)),
        Expected("payout.status_changed", "payout", payout, webhook(*PAYOUT_EVENTS)),
    ]


async def payout_refused_by_stripe(world: World) -> list[Expected]:
    market = world.market
    account = await seller_with_bank(market, SELLER_A)
    await sell_and_settle(market, BUYER, key="walk-16")
    await market.emulator.control_async(f"accounts/{account}/restrict")
    async with world.change():
        answer = await request_payout(market, SELLER_A, key="walk-16-p")
        assert answer.status_code >= 400, answer.text
    [payout] = await market.database[Collections.PAYOUTS].find({"seller_id": SELLER_A}).to_list()
    return [Expected("payout.status_changed", "payout", payout["_id"], user(SELLER_A))]


async def payout_made_at_stripe(world: World) -> list[Expected]:
    market = world.market
    account = await seller_with_bank(market, SELLER_A, CLOSED_BANK)
    await sell_and_settle(market, BUYER, key="walk-17")
    async with world.change():
        made = await market.emulator.stripe_client().v1.payouts.create_async(
            {"amount": 100, "currency": "usd"}, {"stripe_account": account}
        )
        await market.settle()
    [payout] = await market.database[Collections.PAYOUTS].find({"stripe_payout_id": made.id}).to_list()
    events = webhook(*PAYOUT_EVENTS)
    return [
        Expected("payout.recorded_from_stripe", "payout", payout["_id"], events),
        Expected("payout.status_changed", "payout", payout["_id"], events),
    ]


async def seller_deauthorized(world: World) -> list[Expected]:
    market = world.market
    account = await market.seller_account(SELLER_A)
    event = {
        "id": "evt_walk_deauthorized",
        "object": "event",
        "type": "account.application.deauthorized",
        "account": account,
        "created": 1_700_000_000,
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": {"id": "ca_walk", "object": "application", "name": "Marketplace"}},
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }
    async with world.change():
        await market.deliver(event)
        await market.services.webhook_processor.process_due()
    return [
        Expected(
            "seller_account.status_changed",
            "seller_account",
            account,
            webhook("account.application.deauthorized"),
        )
    ]


# Admin actions, migrations, reconciliation, the webhook pipeline


async def feature_flag_set(world: World) -> list[Expected]:
    market = world.market
    rule = {"enabled": True, "rollout_percent": 25, "allow_users": [], "deny_users": []}
    async with world.change():
        answer = await market.client.put(
            "/admin/flags/checkout_v2", json=rule, headers=market.headers(ADMIN, Role.ADMIN)
        )
        assert answer.status_code == 200, answer.text
    return [Expected("feature_flag.updated", "feature_flag", "checkout_v2", admin(ADMIN))]


async def legacy_wallet_migrated_late(world: World) -> list[Expected]:
    market = world.market
    await insert_legacy_wallet(market.database, BUYER, "10.00")
    await market.services.migration.migrate_user(BUYER, Actor.user(BUYER))
    await market.database["wallets"].update_one({"userId": BUYER}, {"$set": {"balance": "2.50"}})
    async with world.change():
        answer = await market.client.post(
            f"/admin/migrations/legacy-wallets/{BUYER}",
            headers=market.headers(ADMIN, Role.ADMIN, key="walk-18"),
        )
        assert answer.status_code == 200, answer.text
    return [Expected("legacy_wallet.late_migrated", "legacy_wallet", BUYER, admin(ADMIN))]


async def migration_run_interrupted_resumed_and_rolled_back(world: World) -> list[Expected]:
    market = world.market
    for number in range(3):
        await insert_legacy_wallet(market.database, f"legacy-{number}", f"{number + 1}.00")
    runs = market.services.migration_runs

    def die_after_one_batch(done: int, total: int) -> None:
        if done >= 1:
            raise KeyboardInterrupt

    async with world.change():
        with pytest.raises(KeyboardInterrupt):
            await runs.start(RunOptions(batch_size=1), MIGRATION_JOB, progress=die_after_one_batch)
        [run] = (await runs.page(10, None)).data
        await runs.resume(run.id, MIGRATION_JOB)
        await market.services.rollbacks.rollback(run.id, MIGRATION_JOB)
        await market.services.migration.migrate_user("legacy-0", Actor.user("legacy-0"))
    migrator = job("migrate_legacy_wallets")
    return [
        Expected("legacy_migration.started", "legacy_migration_run", run.id, migrator),
        Expected("legacy_migration.interrupted", "legacy_migration_run", run.id, migrator),
        Expected("legacy_migration.resumed", "legacy_migration_run", run.id, migrator),
        Expected("legacy_migration.completed", "legacy_migration_run", run.id, migrator),
        Expected("legacy_migration.rolled_back", "legacy_migration_run", run.id, migrator),
        *(
            Expected(action, "legacy_wallet", f"legacy-{number}", migrator)
            for number in range(3)
            for action in ("legacy_wallet.migrated", "legacy_wallet.migration_rolled_back")
        ),
        Expected("legacy_wallet.migrated", "legacy_wallet", "legacy-0", user("legacy-0")),
    ]


async def discrepancy_adjusted(world: World) -> list[Expected]:
    market = world.market
    move = Move(Accounts.CARD, Accounts.buyer_wallet(BUYER), 700, "usd")
    await market.services.ledger.post(
        entry("topup:pi_ghost", EntryKind.TOPUP, [move], topup="tu_ghost", payment_intent="pi_ghost")
    )
    await market.services.reconciliation.run(today(), RunTrigger.COMMAND)
    page = await market.services.reconciliation_review.discrepancies(None, 100, None)
    [discrepancy] = [d for d in page.data if d.kind == "topup_payment_missing"]
    body = {
        "resolution": "adjusted",
        "note": "credited without a payment",
        "adjustment": {
            "from_account": Accounts.buyer_wallet(BUYER),
            "to_account": Accounts.CARD,
            "amount": 700,
            "currency": "usd",
        },
    }
    async with world.change():
        answer = await market.client.post(
            f"/admin/reconciliation/discrepancies/{discrepancy.id}/resolve",
            json=body,
            headers=market.headers(ADMIN, Role.ADMIN, key="walk-19"),
        )
        assert answer.status_code == 200, answer.text
    return [Expected("discrepancy.resolved", "discrepancy", discrepancy.id, admin(ADMIN))]


async def drift_superseded(world: World) -> list[Expected]:
    """A run of yesterday sees today's ghost credit only in the balance, as drift; the run of
    today finds the credit itself, and supersedes the drift."""
    market = world.market
    move = Move(Accounts.CARD, Accounts.buyer_wallet(BUYER), 700, "usd")
    await market.services.ledger.post(
        entry("topup:pi_ghost", EntryKind.TOPUP, [move], topup="tu_ghost", payment_intent="pi_ghost")
    )
    await market.services.reconciliation.run(earlier(), RunTrigger.COMMAND)
    [drift] = (await market.services.reconciliation_review.discrepancies(None, 100, None)).data
    async with world.change():
        await market.services.reconciliation.run(today(), RunTrigger.COMMAND)
    # The books balance again for the walk's invariants: the credit taken back by an admin.
    [ghost] = (
        await market.services.reconciliation_review.discrepancies(DiscrepancyStatus.OPEN, 100, None)
    ).data
    take_back = Adjustment(Accounts.buyer_wallet(BUYER), Accounts.CARD, 700, "usd")
    await market.services.reconciliation_review.resolve(
        ghost.id,
        Resolution.ADJUSTED,
        "credited without a payment",
        Actor.from_roles(ADMIN, ["admin"]),
        take_back,
    )
    return [Expected("discrepancy.superseded", "discrepancy", drift.id, system("reconciliation"))]


async def webhook_event_replayed(world: World) -> list[Expected]:
    market = world.market
    account = await market.seller_account(SELLER_A)
    events = await market.database[Collections.WEBHOOK_EVENTS].find({"account": account}).to_list()
    event_id = events[0]["_id"]
    async with world.change():
        answer = await market.client.post(
            f"/admin/webhook-events/{event_id}/replay", headers=market.headers(ADMIN, Role.ADMIN)
        )
        assert answer.status_code == 200, answer.text
    return [Expected("webhook_event.replayed", "webhook_event", event_id, admin(ADMIN))]


async def webhook_event_dead_lettered(world: World) -> list[Expected]:
    """A payout of an account no seller has: its handler fails every attempt, to the last."""
    market = world.market
    payout = stripe_object("payout", id=new_id("po"), metadata={})
    event = stripe_event("payout.created", payout, account="acct_of_nobody")
    await market.deliver(event)
    worker = market.services.webhook_processor
    async with world.change():
        for _ in range(market.settings.webhook_max_attempts):
            await worker.process_due()
    return [
        Expected(
            "webhook_event.dead_lettered",
            "webhook_event",
            event["id"],
            job(f"webhook_processor/{worker.worker_id}"),
        )
    ]


ROWS: list[Row] = [
    row(
        topup_paid_by_card,
        "TopupRepository.attach_payment_intent",
        "TopupRepository._move_from_each_source",
        "Topups._credit_in",
        "StripeFees.record_charge_fee",
        "Ledger.post.<locals>.post_in",
        "LedgerRepository.write_entry",
        "LedgerRepository._balance_write",
    ),
    row(topup_failed_and_another_expired, "TopupRepository._move_from_each_source"),
    row(topup_intent_learnt_by_the_janitor, "TopupRepository.learn_payment_intent"),
    row(payment_operation_flagged_for_review, "PaymentOperationRepository.complete_returning_previous"),
    row(
        order_paid_by_card,
        "OrderRepository.insert_order",
        "OrderRepository.opening_writes",
        "OrderRepository.mark_paid",
        "Checkout._pay_in",
    ),
    row(order_canceled, "OrderRepository.mark_canceled"),
    row(
        order_from_wallet_and_legacy_then_released,
        "WalletFunds._post_shares",
        "MigrationWriter.write",
        "MigrationRepository.write",
        "MigrationRepository._bulk",
        "LegacyWalletBridge.mark_migrated",
        "LegacyWalletBridge._write_all",
        "LedgerRepository.insert_entries",
        "LedgerRepository.write_balances",
        "LedgerRepository.insert_postings",
        "EscrowReleases._release_in",
        "OrderRepository.release_write",
        "TransferRepository.insert_write",
        "TransferRepository._move",
        "SellerTransfers._made_in",
        "OrderRepository.stripe_transfer_write",
        "OrderRepository.transferred_write",
    ),
    row(
        transfer_waits_for_the_seller,
        "TransferRepository._compare_and_set",
        "StripeAccountRepository.store_read",
    ),
    row(
        card_refund_failed_then_given_to_the_wallet,
        "RefundRepository.insert",
        "RefundRepository.update",
        "OrderRepository.move_escrow",
        "Refunds._accepted.<locals>.accept_in",
        "Refunds._failed_after_acceptance.<locals>.fail_in",
        "Refunds.retry_to_wallet.<locals>.retry_in",
    ),
    row(wallet_order_refunded, "RefundRepository.insert", "WalletFunds._post_shares"),
    row(
        buyer_dispute_with_evidence_resolved_by_refund,
        "DisputeRepository.insert",
        "DisputeRepository.add_evidence",
        "DisputeRepository.move",
        "NotificationRepository.insert",
    ),
    row(notification_read, "NotificationRepository.mark_read"),
    row(
        chargeback_after_transfer_becomes_debt_taken_then_won,
        "Chargebacks._withdrawn_in",
        "Chargebacks._reinstated_in",
        "SellerRecovery.start_in",
        "SellerRecovery._changed_in",
        "SellerRecovery.stop_in",
        "SellerRecovery._repaid.<locals>.repaid_in",
        "SellerDebts.add_in",
        "SellerDebts.recover_in",
        "DisputeRepository.store_stripe_status",
    ),
    row(chargeback_evidence_submitted),
    row(chargeback_after_transfer_reversed, "SellerRecovery._reversed.<locals>.reversed_in"),
    row(
        payout_paid,
        "PayoutRepository.insert_write",
        "Payouts._record.<locals>.record_in",
        "PayoutRepository.store_read",
        "Payouts._write_with_entries",
    ),
    row(payout_refused_by_stripe, "PayoutRepository.refuse"),
    row(payout_made_at_stripe, "PayoutRepository.insert", "PayoutRepository.store_read"),
    row(seller_deauthorized, "StripeAccountRepository.deauthorize"),
    row(feature_flag_set, "FlagRepository.save"),
    row(
        legacy_wallet_migrated_late,
        "LegacyWalletBridge.mark_late_migrated",
        "_add_late",
    ),
    row(
        migration_run_interrupted_resumed_and_rolled_back,
        "RunRepository.create",
        "RunRepository.move",
        "Rollbacks._page",
        "MigrationRepository.mark_rolled_back",
        "LegacyWalletBridge.restore",
        "_reopen",
    ),
    row(
        discrepancy_adjusted,
        "ReconciliationRepository.resolve",
        "ReconciliationReview._resolve_in",
    ),
    row(drift_superseded, "ReconciliationRepository.supersede"),
    row(webhook_event_replayed, "WebhookEventRepository._claim"),
    row(webhook_event_dead_lettered, "WebhookEventRepository.record_outcome"),
]


@pytest.mark.parametrize("walk", ROWS, ids=[walk.name for walk in ROWS])
async def test_each_state_change_leaves_its_audit_record(market: Marketplace, walk: Row) -> None:
    world = World(market)

    expected = await walk.scenario(world)

    assert world.trail is not None, "the scenario marked no change"
    await check_records(world, expected)
    check_trail(world.trail, walk.writers())
    await market.services.audit_sealer.seal_pending()
    report = await market.services.audit_verifier.verify()
    assert (report.intact, report.unsealed) == (True, 0), report.first_break
    await market.assert_invariants()
