"""The books' invariants, to assert after every money flow.

`assert_money_invariants` checks that every currency's postings sum to zero, that every balance
document equals its postings, that no custody account (`buyer:*`, `escrow:*`, `seller:*`) is
below zero, and that the platform's Stripe balance (available plus pending) is what the ledger
predicts. Call it once Stripe's asynchronous work is done (the emulator's clock advanced): until a
charge's balance transaction exists, Stripe's balance does not show the charge yet.
"""

from __future__ import annotations

from typing import Any

from app.adapters.payment_provider import PaymentProvider
from app.db import Collections, Database
from app.domain.ledger import may_go_negative
from app.services.ledger import Ledger


async def assert_money_invariants(
    database: Database, provider: PaymentProvider, currency: str = "usd"
) -> None:
    await assert_books_balance(database, currency)
    stripe_balance = await provider.retrieve_balance()
    at_stripe = sum(
        funds.amount
        for funds in (*stripe_balance.available, *stripe_balance.pending)
        if funds.currency == currency
    )
    expected = await Ledger(database).expected_platform_stripe_balance(currency)
    assert at_stripe == expected, (
        f"the platform's Stripe balance is {at_stripe}, the ledger predicts {expected}"
    )


async def assert_books_balance(database: Database, currency: str = "usd") -> None:
    """The ledger's own invariants, true at every moment whatever Stripe is doing: conservation,
    balances equal to their postings, no custody account below zero."""
    ledger = Ledger(database)
    totals = await ledger.totals_by_currency()
    assert all(total == 0 for total in totals.values()), f"money is not conserved: {totals}"

    from_postings = await _balances_from_postings(database, currency)
    async for document in database[Collections.LEDGER_ACCOUNTS].find({"currency": currency}):
        account, balance = document["account"], document["balance"]
        assert balance == from_postings.get(account, 0), (
            f"{account} holds {balance}, its postings say otherwise"
        )
        assert may_go_negative(account) or balance >= 0, f"custody account {account} is at {balance}"


async def _balances_from_postings(database: Database, currency: str) -> dict[str, int]:
    pipeline: list[dict[str, Any]] = [
        {"$match": {"currency": currency}},
        {"$group": {"_id": "$account", "total": {"$sum": "$amount"}}},
    ]
    return {
        row["_id"]: row["total"]
        async for row in await database[Collections.LEDGER_POSTINGS].aggregate(pipeline)
    }
