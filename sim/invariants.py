"""The invariants the simulation checks: the books' own after every few steps (true whatever
Stripe is doing), and all of them once the world is quiet (every event delivered, the janitor
passed, Stripe's pending work done).

Checked by the shared helper of the tests (`tests/money_invariants.py`): conservation, balances
equal to their postings, no negative custody account, the platform's Stripe balance equal to the
ledger's prediction. Checked here: escrows against the ledger, each PaymentIntent credited
exactly once if it succeeded and never otherwise, at most one Stripe object (PaymentIntent,
transfer, reversal, refund, payout) per operation, the audit chain intact. Over the day's records
(`sim/day_invariants.py`): no payout while a dispute was open, refunds within what was paid per
source and, on the simulated world, the legacy totals and the service's reconciliation finding
nothing. `check_marketplace` checks all but those two on any database the service wrote and the
Stripe it talked to (the load run uses it), `check_everything` everything on the simulated world.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import stripe

from app.container import Services
from app.db import Collections, Database
from app.domain.checkout import EscrowStatus
from app.domain.ledger import Accounts
from sim import day_invariants
from sim.world import CURRENCY, World
from tests.money_invariants import assert_books_balance, assert_money_invariants

# An escrow in these statuses gave everything it held away (to the seller, the buyer, the network).
EMPTIED = (EscrowStatus.RELEASED, EscrowStatus.TRANSFERRED, EscrowStatus.REFUNDED, EscrowStatus.CANCELED)


async def check_books(world: World) -> None:
    await assert_books_balance(world.services.database, CURRENCY)


async def check_everything(world: World) -> list[str]:
    """Every invariant; the names of those checked."""
    checked = await check_marketplace(world.services, world.emulator.stripe_client(), world.accounts.values())
    await day_invariants.legacy_totals_accounted(world)
    await day_invariants.reconciliation_finds_nothing(world)
    return [*checked, "legacy = migrated + rejected + left", "reconciliation finds nothing"]


async def check_marketplace(
    services: Services, stripe_client: stripe.StripeClient, connected_accounts: Iterable[str]
) -> list[str]:
    """Every invariant over the service's database and what Stripe holds (the platform and the
    sellers' connected accounts); the names of those checked."""
    database = services.database
    await assert_money_invariants(database, services.provider, CURRENCY)
    await _escrows_match_ledger(database)
    intents = await _stripe_list(stripe_client, "payment_intents")
    await _intents_credited_once(database, intents)
    await _one_stripe_object_per_operation(stripe_client, connected_accounts, intents)
    await day_invariants.no_payout_while_disputed(database)
    await day_invariants.refunds_within_what_was_paid(database)
    day_invariants.stripe_refunds_within_charges(intents, await _stripe_list(stripe_client, "refunds"))
    await _audit_chain_intact(services)
    return [
        "conservation",
        "no negative custody",
        "Stripe balance = ledger",
        "escrows = ledger",
        "PaymentIntents credited once",
        "one Stripe object per operation",
        "no payout while disputed",
        "refunds within what was paid",
        "audit chain",
    ]


async def _balance(database: Database, account: str) -> int:
    document = await database[Collections.LEDGER_ACCOUNTS].find_one(
        {"account": account, "currency": CURRENCY}
    )
    return int(document["balance"]) if document else 0


async def _escrows_match_ledger(database: Database) -> None:
    async for escrow in database[Collections.ESCROWS].find({}):
        held = await _balance(database, Accounts.escrow(escrow["order_id"], escrow["seller_id"]))
        status = EscrowStatus(escrow["status"])
        if status in EMPTIED:
            assert held == 0, f"escrow {escrow['_id']} is {status} and still holds {held}"
        elif status is EscrowStatus.AWAITING_FUNDS:
            # The wallet's parts moved in when the order opened; the card's comes with its payment.
            paid = escrow["funding"]["legacy"] + escrow["funding"]["wallet"]
            assert held == paid, (
                f"escrow {escrow['_id']} awaits the card, holds {held}, its wallet paid {paid}"
            )
        else:
            keeps = sum(escrow["funding"].values()) - sum(escrow.get("refunded", {}).values())
            assert held == keeps, f"escrow {escrow['_id']} is {status}, keeps {keeps} and holds {held}"


async def _intents_credited_once(database: Database, intents: list[dict[str, Any]]) -> None:
    """A succeeded PaymentIntent's card money entered the books once, for its amount; another
    PaymentIntent's never."""
    for intent in intents:
        purpose = "topup" if intent["metadata"].get("topup_id") else "checkout_card"
        entry = await database[Collections.JOURNAL_ENTRIES].find_one({"_id": f"{purpose}:{intent['id']}"})
        credited = (
            sum(move["amount"] for move in entry["moves"] if move["from"] == Accounts.CARD) if entry else 0
        )
        expected = intent["amount"] if intent["status"] == "succeeded" else 0
        assert credited == expected, (
            f"PaymentIntent {intent['id']} is {intent['status']} for {intent['amount']}; "
            f"the books credited {credited}"
        )


async def _one_stripe_object_per_operation(
    stripe_client: stripe.StripeClient, connected_accounts: Iterable[str], intents: list[dict[str, Any]]
) -> None:
    made: Counter[str] = Counter()
    for intent in intents:
        metadata = intent["metadata"]
        made[f"payment_intent for {metadata.get('topup_id') or metadata.get('order_id')}"] += 1
    for transfer in await _stripe_list(stripe_client, "transfers"):
        metadata = transfer["metadata"]
        made[f"transfer for {metadata.get('attempt_id') or metadata.get('escrow_id')}"] += 1
        if transfer["amount_reversed"]:
            reversals = await stripe_client.v1.transfers.reversals.list_async(transfer["id"], {"limit": 100})
            async for reversal in reversals.auto_paging_iter():
                made[f"reversal for {reversal.to_dict()['metadata'].get('reversal_id')}"] += 1
    for refund in await _stripe_list(stripe_client, "refunds"):
        made[f"refund for {refund['metadata'].get('refund_id')}"] += 1
    for account in connected_accounts:
        for payout in await _stripe_list(stripe_client, "payouts", stripe_account=account):
            made[f"payout for {payout['metadata'].get('payout_id')}"] += 1
    twice = {
        operation: count for operation, count in made.items() if count > 1 and not operation.endswith(" None")
    }
    assert not twice, f"Stripe objects made more than once: {twice}"


async def _audit_chain_intact(services: Services) -> None:
    await services.audit_sealer.seal_pending()
    report = await services.audit_verifier.verify()
    assert report.intact, f"the audit chain is broken: {report.first_break}"


async def _stripe_list(
    stripe_client: stripe.StripeClient, resource: str, **options: Any
) -> list[dict[str, Any]]:
    listing = getattr(stripe_client.v1, resource)
    page = await listing.list_async({"limit": 100}, options or None)
    return [item.to_dict() async for item in page.auto_paging_iter()]
