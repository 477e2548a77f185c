"""Legacy money against the reserve: a use of legacy wallet money matches its reserve
adjustment; a use without one, and an adjustment for nothing, are each found once, and neither
shows again as a drift of the platform's Stripe balance."""

from __future__ import annotations

from app.container import Services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.money import Money
from app.domain.wallet import reserve_adjustment
from app.services.wallet import WalletEntry
from tests.legacy_wallets import insert_legacy_wallet
from tests.money_invariants import assert_money_invariants
from tests.services.reconciliation.support import discrepancies, reconcile

ESCROW = Accounts.escrow("order-1", "seller-1")


async def test_legacy_money_spent_with_its_reserve_adjustment_reconciles(services: Services) -> None:
    await insert_legacy_wallet(services.database, "buyer-l", "40.00")
    await services.wallet_funds.spend(
        "buyer-l", Money(3_000, "usd"), ESCROW, WalletEntry("checkout:order-1", EntryKind.CHECKOUT)
    )
    await assert_money_invariants(services.database, services.provider)

    run = await reconcile(services)

    assert run.counts["legacy_reserve"].matched == 1
    assert await discrepancies(services) == []


async def test_a_use_without_adjustment_and_an_adjustment_for_nothing_are_found_once_each(
    services: Services,
) -> None:
    await insert_legacy_wallet(services.database, "buyer-l", "40.00")
    await services.wallet_funds.spend(
        "buyer-l", Money(1_000, "usd"), ESCROW, WalletEntry("checkout:order-1", EntryKind.CHECKOUT)
    )
    unadjusted = Move(Accounts.buyer_legacy("buyer-l"), Accounts.escrow("order-2", "seller-1"), 500, "usd")
    await services.ledger.post(entry("checkout:order-2", EntryKind.CHECKOUT, [unadjusted], user="buyer-l"))
    await services.ledger.post(reserve_adjustment("checkout:order-3", "buyer-l", 700, "usd", use=True))

    await reconcile(services)
    again = await reconcile(services)

    found = {d.kind: d for d in await discrepancies(services)}
    assert set(found) == {"reserve_adjustment_missing", "reserve_adjustment_orphan"}
    assert (found["reserve_adjustment_missing"].expected, found["reserve_adjustment_missing"].actual) == (
        500,
        None,
    )
    assert found["reserve_adjustment_missing"].our_ids["entry"] == "checkout:order-2"
    assert found["reserve_adjustment_orphan"].our_ids["entry"] == "checkout:order-3"
    assert (
        found["reserve_adjustment_missing"].balance_effect,
        found["reserve_adjustment_orphan"].balance_effect,
    ) == (
        -500,
        700,
    )
    assert (again.new_discrepancies, again.known_discrepancies) == (0, 2)
