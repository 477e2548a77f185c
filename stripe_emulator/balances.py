"""Balances, derived from balance transactions: pending and available, per account and currency."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from stripe_emulator.ids import DAY_SECONDS, new_id, now
from stripe_emulator.objects import JsonObject, from_fixture
from stripe_emulator.state import Store

CARD_FUNDS_DELAY_SECONDS = 2 * DAY_SECONDS


@dataclass
class Funds:
    available: int = 0
    pending: int = 0


def card_fee(amount: int) -> int:
    """Stripe's card pricing, 2.9% + 30, the percentage rounded half up."""
    return (amount * 29 + 500) // 1000 + 30


def add_transaction(
    store: Store,
    *,
    account: str | None,
    amount: int,
    currency: str,
    txn_type: str,
    source: str,
    reporting_category: str,
    description: str | None = None,
    fee: int = 0,
    fee_description: str = "Stripe processing fees",
    available_on: int | None = None,
) -> JsonObject:
    """Record a movement of money; it is pending until `available_on` when that is in the future."""
    created = now()
    available_on = available_on or created
    fee_details = [
        {
            "amount": fee,
            "application": None,
            "currency": currency,
            "description": fee_description,
            "type": "stripe_fee",
        }
    ]
    txn = from_fixture(
        "balance_transaction",
        id=new_id("txn"),
        amount=amount,
        available_on=available_on,
        created=created,
        currency=currency,
        description=description,
        exchange_rate=None,
        fee=fee,
        fee_details=fee_details if fee else [],
        net=amount - fee,
        reporting_category=reporting_category,
        source=source,
        status="pending" if available_on > created else "available",
        type=txn_type,
        balance_type="payments",
    )
    return store.add(txn, owner=account)


def funds_by_currency(store: Store, account: str | None) -> dict[str, Funds]:
    funds: dict[str, Funds] = defaultdict(Funds)
    for txn in store.newest_first("balance_transaction", account):
        if txn["status"] == "pending":
            funds[txn["currency"]].pending += txn["net"]
        else:
            funds[txn["currency"]].available += txn["net"]
    return funds


def funds(store: Store, account: str | None, currency: str) -> Funds:
    return funds_by_currency(store, account).get(currency, Funds())


def settle(store: Store) -> int:
    """Make every pending transaction available now, on every account; return how many."""
    settled = 0
    for txn in store.all_newest_first("balance_transaction"):
        if txn["status"] == "pending":
            txn["status"] = "available"
            txn["available_on"] = now()
            settled += 1
    return settled


def balance_object(store: Store, account: str | None) -> JsonObject:
    by_currency = funds_by_currency(store, account) or {"usd": Funds()}
    return from_fixture(
        "balance",
        available=[_amount(currency, f.available) for currency, f in by_currency.items()],
        pending=[_amount(currency, f.pending) for currency, f in by_currency.items()],
        connect_reserved=[{"amount": 0, "currency": currency} for currency in by_currency],
        livemode=False,
    )


def _amount(currency: str, amount: int) -> JsonObject:
    return {"amount": amount, "currency": currency, "source_types": {"card": amount}}
