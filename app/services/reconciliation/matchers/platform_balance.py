"""The platform's Stripe balance (available plus pending) against what the ledger predicts:
custody held on the platform plus `platform:fees`, less what the legacy reserve owes it
(`Ledger.expected_platform_stripe_balance`), per currency.

Registered last: the specific differences the other checks found (this run's and those standing
from earlier runs) each say how much they move the balance (`Difference.balance_effect`). The
balance is read whole, whatever the run's window, so what they leave unexplained is a reading, not
a difference: the run settles it against the drift standing in its currency (`BalanceDrifts`),
found again when it is the same amount, superseded otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import Balance, PaymentProvider
from app.domain.reconciliation import BalanceReading
from app.services.ledger import Ledger
from app.services.reconciliation.matching import MatchContext, Tally

# The ledger is read before and after Stripe's balance; a money movement landing in between
# (a webhook being processed) makes them differ, and the reading is taken again.
READINGS = 3


class PlatformBalanceMatcher:
    name = "platform_balance"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[BalanceReading]:
        """One reading per currency, an unexplained part or none: each settles the drift standing."""
        balance, predicted = await self._read()
        for currency in sorted(predicted):
            tally.stripe_objects += 1
            tally.our_records += 1
            reading = BalanceReading(
                currency, _held(balance, currency), predicted[currency], await context.explained(currency)
            )
            if reading.unexplained == 0:
                tally.matched += 1
            yield reading

    async def _read(self) -> tuple[Balance, dict[str, int]]:
        """Stripe's balance with the ledger's predictions of every currency either side knows,
        read so that no money movement of ours landed between them (as far as the ledger shows)."""
        for _ in range(READINGS):
            currencies = set(await self._ledger.totals_by_currency())
            before = await self._predictions(currencies)
            balance = await self._provider.retrieve_balance()
            currencies |= {money.currency for money in (*balance.available, *balance.pending)}
            after = await self._predictions(currencies)
            if all(before.get(currency, after[currency]) == after[currency] for currency in currencies):
                return balance, after
        return balance, after

    async def _predictions(self, currencies: set[str]) -> dict[str, int]:
        return {
            currency: await self._ledger.expected_platform_stripe_balance(currency) for currency in currencies
        }


def _held(balance: Balance, currency: str) -> int:
    return sum(money.amount for money in (*balance.available, *balance.pending) if money.currency == currency)
