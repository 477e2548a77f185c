"""Every balance transaction of the platform is accounted for: its type is one a registered
matcher matches with the ledger (`Matcher.balance_transaction_types`: charges by the fee matcher
today; transfers, refunds, reversals, payouts and disputes by their domains' matchers). One of a
type nobody claims moved money on Stripe that no check follows, and is reported with its net.
Whether the ledger holds that money is not known, so it explains no drift of the platform
balance: if the ledger lacks it, the balance check reports the drift too."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.adapters.payment_provider import PaymentProvider
from app.domain.reconciliation import Difference, Flow
from app.services.reconciliation.matching import MatchContext, Tally

UNACCOUNTED = "balance_transaction_unaccounted"


class BalanceTransactionMatcher:
    name = "balance_transactions"
    balance_transaction_types: frozenset[str] = frozenset()

    def __init__(self, provider: PaymentProvider, accounted_types: frozenset[str]) -> None:
        self._provider = provider
        self._accounted = accounted_types

    async def differences(self, context: MatchContext, tally: Tally) -> AsyncIterator[Difference]:
        window = context.window
        async for txn in self._provider.iter_balance_transactions(window.start, window.end):
            tally.stripe_objects += 1
            if txn.type in self._accounted:
                tally.matched += 1
                continue
            yield Difference(
                kind=UNACCOUNTED,
                currency=txn.currency,
                expected=None,
                actual=txn.net,
                flow=Flow.UNCHECKED,
                summary=f"balance transaction {txn.id} of type {txn.type} moved {txn.net} {txn.currency} "
                "on the platform's Stripe balance, and no check of the reconciliation accounts for its type",
                stripe_ids={"balance_transaction": txn.id, "source": txn.source or ""},
            )
