"""Building blocks for tests that drive the Stripe adapter against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.adapters.payment_provider import PaymentIntent
from app.adapters.stripe_adapter import RetryPolicy, StripeAdapter
from app.config import Settings
from tests.conftest import make_settings

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

# Our retries, with waits short enough for tests; the SDK's own retries are off so ours are seen.
FAST_RETRIES = RetryPolicy(attempts=3, initial_wait_seconds=0.01, max_wait_seconds=0.05)
# Small pages, so every listing in the tests crosses page boundaries.
TEST_PAGE_SIZE = 2


def adapter_settings(mongodb_uri: str, emulator: EmulatorServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stripe_api_base": emulator.base_url,
        "stripe_max_network_retries": 0,
        "stripe_timeout_seconds": 5,
    }
    return make_settings(mongodb_uri, **{**values, **overrides})


def make_adapter(settings: Settings) -> StripeAdapter:
    return StripeAdapter(settings, retry=FAST_RETRIES, page_size=TEST_PAGE_SIZE)


def whole_day() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=12), now + timedelta(hours=12)


async def onboarded_seller(provider: StripeAdapter, emulator: EmulatorServer, seller_id: str) -> str:
    account = await provider.create_connected_account(
        seller_id, f"{seller_id}@example.com", "US", idempotency_key=f"account:{seller_id}"
    )
    await emulator.control_async(f"accounts/{account.id}/verify")
    return account.id


async def paid_order(
    provider: StripeAdapter, emulator: EmulatorServer, order_id: str, amount: int = 10_000
) -> PaymentIntent:
    """A checkout paid by card (the buyer confirms in the browser; the emulator's control plays
    the buyer), its funds already available on the platform balance."""
    intent = await provider.create_payment_intent_on_platform(
        order_id, amount, "usd", idempotency_key=f"checkout:{order_id}"
    )
    await emulator.control_async(f"payment_intents/{intent.id}/succeed")
    await emulator.control_async("balance/settle")
    return await provider.retrieve_payment_intent(intent.id)


async def drop_responses(emulator: EmulatorServer, path_prefix: str, count: int) -> None:
    """The emulator performs the next `count` matching POSTs, then drops their responses."""
    await emulator.control_async(
        "faults", path_prefix=path_prefix, method="POST", count=count, drop_response=True
    )


async def fail_requests(
    emulator: EmulatorServer, path_prefix: str, count: int, status: int, method: str | None = None
) -> None:
    """The emulator answers the next `count` matching calls with `status`, doing nothing."""
    await emulator.control_async("faults", path_prefix=path_prefix, method=method, count=count, status=status)


async def transfer_ids(provider: StripeAdapter) -> list[str]:
    return [transfer.id async for transfer in provider.iter_transfers(*whole_day())]
