"""Balances, derived from balance transactions: pending and available, per account and currency."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from stripe_emulator.clock import DAY_SECONDS
from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_id
from stripe_emulator.objects import JsonObject, from_fixture
from stripe_emulator.state import Store

CARD_FUNDS_DELAY_SECONDS = 2 * DAY_SECONDS
"""US card payments become available two days after the charge (Stripe's standard payout
timing for the United States)."""


@dataclass
class Funds:
    available: int = 0
    pending: int = 0


def card_fee(amount: int) -> int:
    """Stripe's pricing for US cards, 2.9% + 30 cents, the percentage rounded half up:
    a 100.00 charge pays 3.20 (https://stripe.com/pricing)."""
    return (amount * 29 + 500) // 1000 + 30


def add_transaction(
    emu: Emulator,
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
    created = emu.clock.now()
    available_on = max(available_on or created, created)
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
    return emu.store.add(txn, owner=account)


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
