"""The invariants over the whole day's records, checked once the world is quiet: no payout
requested while a dispute on the seller's money was open (from the audit log), refunds
within what was paid per funding source, the legacy totals accounted for by what was migrated,
rejected and left, and a reconciliation of the day's window through the service's own
reconciliation (every matcher the composition root registers) finding nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.db import Collections, Database
from app.domain.disputes import OPEN_STATUSES, DisputeStatus
from app.domain.ledger import EntryKind
from app.domain.reconciliation import Window
from app.domain.refunds import RefundStatus
from app.services.reconciliation import reconcile_window
from sim.world import World

SOURCES = ("card", "wallet", "legacy")
FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Opening:
    """A dispute's opening on one seller's money: the seller's gate count it passed, and when it
    closed (FOREVER while open)."""

    dispute_id: str
    gate: int
    closed: datetime


async def no_payout_while_disputed(database: Database) -> None:
    """No payout was requested while a dispute or chargeback on the seller's money was open.

    The moment that counts is the request's commit in our books (`payout.requested`): a payout
    requested before a dispute opened is legitimate, and is sent to Stripe even if the dispute
    opens before that call. Which came first is the order both took through the seller's gate
    (the count each passed at, in the audit records), not their clocks, which a millisecond
    cannot tell apart: every dispute opened earlier on the gate must have closed by the request
    (its closing recorded no later: the request's transaction saw it closed)."""
    openings = await _openings_by_seller(database)
    payouts = {doc["_id"]: doc async for doc in database[Collections.PAYOUTS].find({})}
    async for record in database[Collections.AUDIT_LOG].find({"action": "payout.requested"}):
        payout_id, requested_at = record["object"]["id"], _aware(record["at"])
        seller, gate = payouts[payout_id]["seller_id"], record["after"]["gate"]
        open_then = [
            opening for opening in openings[seller] if opening.gate < gate and requested_at < opening.closed
        ]
        assert not open_then, (
            f"payout {payout_id} requested at {requested_at} (gate {gate}) while {seller}'s dispute "
            f"{open_then[0].dispute_id} was open (gate {open_then[0].gate}, closed {open_then[0].closed})"
        )


async def _openings_by_seller(database: Database) -> dict[str, list[Opening]]:
    """Each seller's dispute openings, with the gate count each passed and when it closed."""
    gates: dict[str, dict[str, int]] = {}
    closed: dict[str, datetime] = {}
    changes = database[Collections.AUDIT_LOG].find({"object.type": "dispute"}).sort([("at", 1), ("_id", 1)])
    async for record in changes:
        dispute_id = record["object"]["id"]
        if record["action"] == "dispute.opened":
            gates[dispute_id] = record["after"].get("gates", {})
        elif _closes(record):
            closed.setdefault(dispute_id, _aware(record["at"]))
    openings: dict[str, list[Opening]] = defaultdict(list)
    for dispute_id, by_seller in gates.items():
        for seller, gate in by_seller.items():
            openings[seller].append(Opening(dispute_id, gate, closed.get(dispute_id, FOREVER)))
    return openings


def _closes(record: dict[str, Any]) -> bool:
    return (
        record["action"] == "dispute.status_changed"
        and DisputeStatus(record["after"]["status"]) not in OPEN_STATUSES
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def refunds_within_what_was_paid(database: Database) -> None:
    """Per escrow and funding source, the refunds' parts never exceed what that source paid (a
    failed refund's card part came back, so it does not count); per PaymentIntent, Stripe's
    refunds never exceed the payment."""
    refunded: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SOURCES, 0))
    card_refunded: dict[str, int] = defaultdict(int)
    async for refund in database[Collections.REFUNDS].find({}):
        failed = refund["status"] == str(RefundStatus.FAILED)
        for source in SOURCES:
            if not (failed and source == "card"):
                refunded[refund["escrow_id"]][source] += refund["parts"][source]
        if not failed and refund.get("payment_intent_id"):
            card_refunded[refund["payment_intent_id"]] += refund["parts"]["card"]
    intent_of_order = {
        order["_id"]: order.get("payment_intent_id")
        async for order in database[Collections.ORDERS].find({}, {"payment_intent_id": True})
    }
    paid_by_card: dict[str, int] = defaultdict(int)
    async for escrow in database[Collections.ESCROWS].find({}):
        funding = escrow["funding"]
        for source in SOURCES:
            given = refunded[escrow["_id"]][source]
            assert given <= funding[source], (
                f"escrow {escrow['_id']}: {given} refunded to {source}, which paid {funding[source]}"
            )
        if intent := intent_of_order.get(escrow["order_id"]):
            paid_by_card[intent] += funding["card"]
    for intent, given in card_refunded.items():
        assert given <= paid_by_card[intent], (
            f"PaymentIntent {intent}: its refunds' card parts are {given}, "
            f"its escrows' card parts {paid_by_card[intent]}"
        )


def stripe_refunds_within_charges(intents: list[dict[str, Any]], refunds: list[dict[str, Any]]) -> None:
    """At Stripe, a PaymentIntent's refunds (not failed or canceled) add up to at most what it took."""
    taken = {intent["id"]: intent.get("amount_received") or 0 for intent in intents}
    given: dict[str, int] = defaultdict(int)
    for refund in refunds:
        if refund["status"] not in ("failed", "canceled"):
            given[refund["payment_intent"]] += refund["amount"]
    over = {intent: amount for intent, amount in given.items() if amount > taken.get(intent, 0)}
    assert not over, f"Stripe refunded more than the PaymentIntent took: {over} of {taken}"


async def legacy_totals_accounted(world: World) -> None:
    """Every legacy wallet the legacy system held is migrated (the ledger credited exactly its
    balance, as the legacy document says it moved), rejected (a balance the books cannot hold,
    still in the legacy system) or not yet judged (untouched); so the legacy total is what was
    migrated plus what was rejected plus what is left."""
    database = world.services.database
    credited = await _migration_credits(database)
    rejected = {doc["user_id"] async for doc in database[Collections.LEGACY_MIGRATION_REJECTIONS].find({})}
    migrated_total, rejected_total, left_total = Decimal(0), Decimal(0), Decimal(0)
    legacy = database[world.settings.legacy_wallet_collection]
    async for wallet in legacy.find({"userId": {"$in": list(world.legacy_wallets)}}):
        user, held = wallet["userId"], Decimal(world.legacy_wallets[wallet["userId"]])
        if wallet.get("migrated"):
            assert credited.get(user, 0) == held * 100 == wallet["migratedMinorUnits"], (
                f"legacy wallet of {user} held {held}; the ledger credited {credited.get(user, 0)}, "
                f"the legacy system says {wallet['migratedMinorUnits']} moved"
            )
            migrated_total += Decimal(credited[user]) / 100
        else:
            still = Decimal(wallet["balance"])
            assert still == held, f"the unmigrated legacy wallet of {user} holds {still}, not {held}"
            assert user not in credited, f"{user} is not migrated; the ledger credited {credited[user]}"
            if user in rejected:
                rejected_total += held
            else:
                left_total += held
    total = sum((Decimal(balance) for balance in world.legacy_wallets.values()), Decimal(0))
    assert migrated_total + rejected_total + left_total == total, (
        f"legacy total {total}: migrated {migrated_total} + rejected {rejected_total} + left {left_total}"
    )


async def _migration_credits(database: Database) -> dict[str, int]:
    """Minor units the ledger's migration entries moved into each user's legacy account."""
    credits: dict[str, int] = defaultdict(int)
    async for entry in database[Collections.JOURNAL_ENTRIES].find({"kind": str(EntryKind.MIGRATION)}):
        for move in entry["moves"]:
            account = move["to"]
            if account.startswith("buyer:") and account.endswith(":legacy"):
                credits[account.removeprefix("buyer:").removesuffix(":legacy")] += move["amount"]
    return dict(credits)


async def reconciliation_finds_nothing(world: World) -> None:
    """A reconciliation of the day (from the world's opening to the latest of our clock and
    Stripe's) through the service's reconciliation, as an operator's command runs it: every
    registered matcher, no discrepancy."""
    services = world.services
    end = datetime.now(UTC) + world.clock.offset + timedelta(seconds=1)
    run = await reconcile_window(services.database, services.reconciliation, Window(world.opened_at, end))
    found = [
        f"{doc['kind']}: {doc['summary']}"
        async for doc in services.database[Collections.DISCREPANCIES].find({"last_run_id": run.id})
    ]
    assert not found, "reconciliation found discrepancies:\n  " + "\n  ".join(found)
