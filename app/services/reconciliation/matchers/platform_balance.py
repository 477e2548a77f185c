"""The platform's Stripe balance (available plus pending) against what the ledger predicts:
custody held on the platform plus `platform:fees`, less what the legacy reserve owes it
(`Ledger.expected_platform_stripe_balance`), per currency.

Registered last: the differences the other checks found (this run's and those still standing from
earlier runs) each say how much they move the balance (`Difference.balance_effect`), so only the
drift nothing else explains becomes a discrepancy, once, named by the run that found it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import Balance, PaymentProvider
from app.domain.reconciliation import Difference, Flow, unexplained_drift
from app.services.ledger import Ledger
from app.services.reconciliation.matching import MatchContext, Tally

DRIFT = "platform_balance_drift"
# The ledger is read before and after Stripe's balance; a money movement landing in between
# (a webhook being processed) makes them differ, and the reading is taken again.
READINGS = 3


class PlatformBalanceMatcher:
    name = "platform_balance"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        self._provider = provider
        self._ledger = ledger

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        balance, predicted = await self._read()
        for currency in sorted(predicted):
            tally.stripe_objects += 1
            tally.our_records += 1
            at_stripe = _held(balance, currency)
            explained = await context.explained(currency)
            drift = unexplained_drift(at_stripe, predicted[currency], explained)
            if drift == 0:
                tally.matched += 1
                continue
            yield Difference(
                kind=DRIFT,
                currency=currency,
                expected=predicted[currency] + explained,
                actual=at_stripe,
                flow=Flow.INTO_PLATFORM,
                summary=f"the platform's Stripe balance holds {at_stripe} {currency}; the ledger predicts "
                f"{predicted[currency]} and the discrepancies still standing account for {explained}, "
                f"so {drift} is unexplained",
                our_ids={"run": context.run_id},
            )

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
