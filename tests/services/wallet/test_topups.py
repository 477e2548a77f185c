"""Top-up requests: one top-up and one PaymentIntent per (buyer, Idempotency-Key), whatever fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from pymongo.errors import AutoReconnect

from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Database
from app.domain.money import Money
from app.services.wallet import TopupAlreadyOpened
from app.services.wallet.repository import TopupRepository

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
async def services(database: Database, settings: Settings) -> AsyncIterator[Services]:
    provider = StripeAdapter(settings)
    yield build_services(database, settings, provider)
    await provider.close()


def lose_connection_once(monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
    """The next payment operation fails as a failover would, before Stripe is called."""
    operations = services.payment_operations
    run: Callable[..., Awaitable[Any]] = operations.run
    lost: list[bool] = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(True)
            raise AutoReconnect("connection to the primary lost")
        return await run(*args, **kwargs)

    monkeypatch.setattr(operations, "run", failing_once)


async def test_an_opened_topup_refuses_another_amount_or_currency(
    services: Services, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lose_connection_once(monkeypatch, services)
    with pytest.raises(AutoReconnect):
        await services.topups.request("buyer-r", Money(1000, "usd"), "key-r")

    with pytest.raises(TopupAlreadyOpened) as refused:
        await services.topups.request("buyer-r", Money(2000, "usd"), "key-r")
    assert refused.value.status == 409
    assert (await emulator.stripe_client().v1.payment_intents.list_async()).data == []

    retried = await services.topups.request("buyer-r", Money(1000, "usd"), "key-r")
    assert (retried.amount, retried.currency) == (1000, "usd")
    intent = await emulator.stripe_client().v1.payment_intents.retrieve_async(retried.payment_intent_id or "")
    assert (intent.amount, intent.currency) == (1000, "usd")


async def test_the_repository_refuses_to_reopen_a_topup_with_another_currency_or_buyer(
    database: Database,
) -> None:
    topups = TopupRepository(database)
    await topups.open("tu_1", "buyer-c", Money(1000, "usd"))
    await topups.open("tu_1", "buyer-c", Money(1000, "usd"))  # the same request again: nothing changes

    for user, amount in (("buyer-c", Money(1000, "eur")), ("buyer-d", Money(1000, "usd"))):
        with pytest.raises(TopupAlreadyOpened):
            await topups.open("tu_1", user, amount)
    stored = await topups.get("tu_1")
    assert stored is not None
    assert (stored.user_id, stored.amount, stored.currency) == ("buyer-c", 1000, "usd")
