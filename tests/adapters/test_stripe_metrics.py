"""Every HTTP attempt to Stripe is counted by method and outcome and timed, retries and the pages
of a listing included."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY

from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_errors import PaymentProviderRateLimited, StripeInvalidRequest
from tests.adapters.emulator_helpers import TEST_PAGE_SIZE, whole_day

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


def calls(method: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "payments_stripe_api_calls_total", {"method": method, "outcome": outcome}
    )
    return value or 0.0


def timed(method: str) -> float:
    value = REGISTRY.get_sample_value("payments_stripe_api_call_duration_seconds_count", {"method": method})
    return value or 0.0


async def test_a_retried_call_counts_each_attempt_with_its_outcome(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    before = (calls("balance.retrieve", "server_error"), calls("balance.retrieve", "succeeded"))
    timed_before = timed("balance.retrieve")
    await emulator.control_async("faults", path_prefix="/v1/balance", method="GET", count=2, status=500)

    await provider.retrieve_balance()

    assert calls("balance.retrieve", "server_error") == before[0] + 2
    assert calls("balance.retrieve", "succeeded") == before[1] + 1
    assert timed("balance.retrieve") == timed_before + 3


async def test_failures_are_counted_by_class_of_outcome(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    missing = calls("payment_intents.retrieve", "invalid_request")
    limited = calls("payment_intents.retrieve", "rate_limited")
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="GET", count=3, status=429
    )

    with pytest.raises(PaymentProviderRateLimited):
        await provider.retrieve_payment_intent("pi_unknown")
    with pytest.raises(StripeInvalidRequest):
        await provider.retrieve_payment_intent("pi_unknown")

    assert calls("payment_intents.retrieve", "rate_limited") == limited + 3
    assert calls("payment_intents.retrieve", "invalid_request") == missing + 1


async def test_each_page_of_a_listing_is_a_call_of_its_own(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    seeded = (await emulator.control_async("seed/payment_intents", count=5))["seeded"]
    before = calls("balance_transactions.list", "succeeded")

    transactions = [txn async for txn in provider.iter_balance_transactions(*whole_day())]
    fee_txn = await provider.retrieve_balance_transaction(seeded[0]["balance_transaction"])

    assert [txn.id for txn in transactions] == [row["balance_transaction"] for row in reversed(seeded)]
    pages = -(-len(seeded) // TEST_PAGE_SIZE)
    assert calls("balance_transactions.list", "succeeded") == before + pages
    assert (fee_txn.amount, fee_txn.fee, fee_txn.source) == (1000, 59, seeded[0]["charge"])
