"""Stripe's failures become our typed errors; transient ones are retried with the same key."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
import stripe
import structlog
from structlog.testing import capture_logs

from app.adapters.payment_provider import PaymentIntent
from app.adapters.stripe_adapter import RetryPolicy, StripeAdapter
from app.adapters.stripe_errors import (
    CardDeclined,
    PaymentOutcomeUnknown,
    PaymentProviderMisconfigured,
    PaymentProviderRateLimited,
    PaymentProviderUnavailable,
    StripeIdempotencyConflict,
    StripeInvalidRequest,
    map_stripe_error,
)
from app.config import Settings
from tests.adapters.emulator_helpers import (
    TEST_PAGE_SIZE,
    adapter_settings,
    drop_responses,
    fail_requests,
    make_adapter,
    onboarded_seller,
    paid_order,
    transfer_ids,
    whole_day,
)
from tests.conftest import STRIPE_TEST_KEY

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
async def seller_and_charge(provider: StripeAdapter, emulator: EmulatorServer) -> tuple[str, str]:
    seller = await onboarded_seller(provider, emulator, "seller_1")
    order = await paid_order(provider, emulator, "order_1", 10_000)
    assert order.latest_charge is not None
    return seller, order.latest_charge


@pytest.fixture
def info_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Log entries at INFO and above, whatever level earlier tests configured."""
    previous = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(wrapper_class=previous)


def pass_through_recording_keys(keys: list[str | None], timeouts: int = 0) -> Any:
    """A respx side effect: note the request's Idempotency-Key, time out `timeouts` times, then pass."""

    def side_effect(request: httpx.Request) -> httpx.Request:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) <= timeouts:
            raise httpx.ReadTimeout("timed out", request=request)
        return request  # passes through to the emulator

    return side_effect


async def test_a_declined_card_is_a_typed_error_with_its_decline_code(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    intent = await provider.create_topup_intent(
        "topup_1", "user_1", 1000, "usd", idempotency_key="topup:topup_1"
    )
    with pytest.raises(stripe.CardError) as refused:  # what Stripe answers a declined confirmation
        await emulator.stripe_client().v1.payment_intents.confirm_async(
            intent.id, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
        )

    declined = map_stripe_error(refused.value, changes_state=True)

    assert isinstance(declined, CardDeclined)
    assert declined.status == 402
    assert declined.decline_code == "insufficient_funds"
    assert declined.as_problem()["code"] == "card_declined"


async def test_invalid_parameters_are_our_error_not_a_retry(provider: StripeAdapter) -> None:
    with pytest.raises(StripeInvalidRequest) as invalid:
        await provider.create_transfer_to_seller(
            "escrow_1", "order_1", "acct_missing", 100, "usd", idempotency_key="transfer:escrow_1"
        )
    assert invalid.value.status == 502
    assert invalid.value.code == "stripe_invalid_request"

    with pytest.raises(StripeInvalidRequest):
        await provider.retrieve_payment_intent("pi_missing")


async def test_a_wrong_api_key_means_the_service_is_misconfigured(
    mongodb_uri: str, emulator: EmulatorServer
) -> None:
    adapter = make_adapter(adapter_settings(mongodb_uri, emulator, stripe_secret_key="sk_test_wrong"))
    try:
        with pytest.raises(PaymentProviderMisconfigured) as refused:
            await adapter.retrieve_balance()
        assert refused.value.status == 500
        assert "sk_test_wrong" not in str(refused.value.as_problem())
    finally:
        await adapter.close()


async def test_rate_limiting_is_retried_until_it_passes(
    provider: StripeAdapter, emulator: EmulatorServer, info_logs: list[MutableMapping[str, Any]]
) -> None:
    await fail_requests(emulator, "/v1/payment_intents", count=2, status=429)

    intent = await provider.create_topup_intent(
        "topup_1", "user_1", 1000, "usd", idempotency_key="topup:topup_1"
    )

    assert [i.id async for i in provider.iter_payment_intents(*whole_day())] == [intent.id]
    retries = [entry for entry in info_logs if entry["event"] == "stripe_call_retrying"]
    assert [entry["attempt"] for entry in retries] == [1, 2]


async def test_rate_limiting_that_outlasts_the_retries_is_reported(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    await fail_requests(emulator, "/v1/balance", count=3, status=429)
    with pytest.raises(PaymentProviderRateLimited) as limited:
        await provider.retrieve_balance()
    assert limited.value.status == 503


async def test_a_server_error_is_retried_with_the_same_key_and_creates_one_transfer(
    provider: StripeAdapter, emulator: EmulatorServer, seller_and_charge: tuple[str, str]
) -> None:
    seller, charge = seller_and_charge
    await fail_requests(emulator, "/v1/transfers", count=2, status=500)

    keys: list[str | None] = []
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/transfers").mock(side_effect=pass_through_recording_keys(keys))
        mock.route().pass_through()
        transfer = await provider.create_transfer_to_seller(
            "escrow_1", "order_1", seller, 9000, "usd", charge, idempotency_key="transfer:escrow_1"
        )

    assert keys == ["transfer:escrow_1"] * 3
    assert await transfer_ids(provider) == [transfer.id]


async def test_a_dropped_response_is_retried_and_replayed_not_repeated(
    provider: StripeAdapter, emulator: EmulatorServer, seller_and_charge: tuple[str, str]
) -> None:
    seller, charge = seller_and_charge
    await drop_responses(emulator, "/v1/transfers", count=1)

    transfer = await provider.create_transfer_to_seller(
        "escrow_1", "order_1", seller, 9000, "usd", charge, idempotency_key="transfer:escrow_1"
    )

    assert await transfer_ids(provider) == [transfer.id]
    assert (await provider.retrieve_balance(seller)).available_in("usd") == 9000


async def test_a_timeout_is_retried_with_the_same_key(
    provider: StripeAdapter, seller_and_charge: tuple[str, str]
) -> None:
    seller, charge = seller_and_charge
    keys: list[str | None] = []
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/transfers").mock(side_effect=pass_through_recording_keys(keys, timeouts=1))
        mock.route().pass_through()
        transfer = await provider.create_transfer_to_seller(
            "escrow_1", "order_1", seller, 9000, "usd", charge, idempotency_key="transfer:escrow_1"
        )

    assert keys == ["transfer:escrow_1"] * 2
    assert await transfer_ids(provider) == [transfer.id]


async def test_an_unanswered_change_is_outcome_unknown_and_an_unanswered_read_unavailable(
    provider: StripeAdapter, emulator: EmulatorServer, seller_and_charge: tuple[str, str]
) -> None:
    seller, charge = seller_and_charge
    await drop_responses(emulator, "/v1/transfers", count=3)
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        await provider.create_transfer_to_seller(
            "escrow_1", "order_1", seller, 9000, "usd", charge, idempotency_key="transfer:escrow_1"
        )
    assert (unknown.value.status, unknown.value.outcome_unknown) == (504, True)
    assert len(await transfer_ids(provider)) == 1  # it happened; only the answer was lost

    await fail_requests(emulator, "/v1/balance", count=3, status=503)
    with pytest.raises(PaymentProviderUnavailable):
        await provider.retrieve_balance()


KEY_IN_USE_BODY = {
    "error": {
        "type": "invalid_request_error",
        "code": "idempotency_key_in_use",
        "doc_url": "https://stripe.com/docs/error-codes/idempotency-key-in-use",
        "message": "There is currently another in-progress request using this Idempotent Key "
        "(probably because of a timeout). Please try again later.",
    }
}


def key_in_use_then_pass_through(keys: list[str | None], conflicts: int | None = None) -> Any:
    """A respx side effect: note the Idempotency-Key, answer Stripe's 409 `idempotency_key_in_use`
    `conflicts` times (always when None), then pass through to the emulator."""

    def side_effect(request: httpx.Request) -> httpx.Request | httpx.Response:
        keys.append(request.headers.get("idempotency-key"))
        if conflicts is None or len(keys) <= conflicts:
            return httpx.Response(409, json=KEY_IN_USE_BODY, headers={"Request-Id": f"req_409_{len(keys)}"})
        return request

    return side_effect


def topup_intent(provider: StripeAdapter, topup_id: str = "topup_1") -> asyncio.Task[PaymentIntent]:
    return asyncio.create_task(
        provider.create_topup_intent(topup_id, "user_1", 1000, "usd", idempotency_key=f"topup:{topup_id}")
    )


async def held_by_a_slow_first_call(
    provider: StripeAdapter, emulator: EmulatorServer, hold_seconds: float
) -> asyncio.Task[PaymentIntent]:
    """A first call that Stripe keeps running for `hold_seconds`, holding its idempotency key."""
    await emulator.control_async(
        "faults", path_prefix="/v1/payment_intents", method="POST", count=1, delay_seconds=hold_seconds
    )
    first = topup_intent(provider)
    for _ in range(500):
        if not (await emulator.inspect_async("faults"))["faults"]:
            break  # the first call reached Stripe and took the delay
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the emulator claims the key right after reading the body
    return first


async def test_a_call_racing_another_with_its_key_is_retried_until_it_gets_the_same_object(
    provider: StripeAdapter,
    settings: Settings,
    emulator: EmulatorServer,
    info_logs: list[MutableMapping[str, Any]],
) -> None:
    # Waits adding up to far more than the hold, whatever the jitter draws.
    patient = RetryPolicy(attempts=12, initial_wait_seconds=0.1, max_wait_seconds=0.5)
    racing = StripeAdapter(settings, retry=patient, page_size=TEST_PAGE_SIZE)
    try:
        first = await held_by_a_slow_first_call(provider, emulator, hold_seconds=0.5)
        second = await topup_intent(racing)
        created = await first
    finally:
        await racing.close()

    assert second.id == created.id
    retries = [entry for entry in info_logs if entry["event"] == "stripe_call_retrying"]
    assert retries
    assert {(entry["stripe_code"], entry["idempotency_key"]) for entry in retries} == {
        ("idempotency_key_in_use", "topup:topup_1")
    }
    assert [pi.id async for pi in provider.iter_payment_intents(*whole_day())] == [created.id]


async def test_a_key_still_in_use_when_retries_run_out_is_an_unknown_outcome_resolved_by_a_redrive(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    first = await held_by_a_slow_first_call(provider, emulator, hold_seconds=2.0)

    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        await topup_intent(provider)
    created = await first
    redriven = await topup_intent(provider)

    problem = unknown.value.as_problem()
    assert (problem["status"], problem["code"]) == (504, "payment_outcome_unknown")
    assert problem["stripe_code"] == "idempotency_key_in_use"
    assert unknown.value.outcome_unknown
    assert redriven.id == created.id
    assert [pi.id async for pi in provider.iter_payment_intents(*whole_day())] == [created.id]


async def test_stripes_409_key_in_use_is_retried_with_the_same_key(provider: StripeAdapter) -> None:
    keys: list[str | None] = []
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/payment_intents").mock(side_effect=key_in_use_then_pass_through(keys, 2))
        mock.route().pass_through()
        intent = await topup_intent(provider)

    assert keys == ["topup:topup_1"] * 3
    assert [pi.id async for pi in provider.iter_payment_intents(*whole_day())] == [intent.id]


async def test_a_409_outlasting_the_retries_leaves_a_change_unknown_and_names_stripes_code(
    provider: StripeAdapter, info_logs: list[MutableMapping[str, Any]]
) -> None:
    keys: list[str | None] = []
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/payment_intents").mock(side_effect=key_in_use_then_pass_through(keys))
        mock.route().pass_through()
        with pytest.raises(PaymentOutcomeUnknown) as unknown:
            await topup_intent(provider)

    assert keys == ["topup:topup_1"] * 3
    assert unknown.value.stripe_code == "idempotency_key_in_use"
    assert unknown.value.as_problem()["stripe_request_id"] == "req_409_3"
    failed = next(entry for entry in info_logs if entry["event"] == "stripe_call_failed")
    assert (failed["http_status"], failed["stripe_code"]) == (409, "idempotency_key_in_use")
    assert [pi async for pi in provider.iter_payment_intents(*whole_day())] == []


async def test_stripe_should_retry_false_is_obeyed(provider: StripeAdapter, emulator: EmulatorServer) -> None:
    await emulator.control_async("faults", path_prefix="/v1/balance", count=1, status=500, should_retry=False)
    with pytest.raises(PaymentProviderUnavailable):
        await provider.retrieve_balance()
    assert await provider.retrieve_balance()  # the one fault was all there was: no retry consumed it


async def test_a_key_reused_with_other_parameters_is_a_conflict(
    provider: StripeAdapter, seller_and_charge: tuple[str, str]
) -> None:
    seller, charge = seller_and_charge
    await provider.create_transfer_to_seller(
        "escrow_1", "order_1", seller, 9000, "usd", charge, idempotency_key="transfer:escrow_1"
    )

    with pytest.raises(StripeIdempotencyConflict):
        await provider.create_transfer_to_seller(
            "escrow_1", "order_1", seller, 8000, "usd", charge, idempotency_key="transfer:escrow_1"
        )


async def test_calls_are_logged_without_secrets(
    settings: Settings, emulator: EmulatorServer, info_logs: list[MutableMapping[str, Any]]
) -> None:
    adapter = make_adapter(settings)
    try:
        intent = await adapter.create_topup_intent(
            "topup_1", "user_1", 1000, "usd", idempotency_key="topup:topup_1"
        )
        await fail_requests(emulator, "/v1/payment_intents", count=3, status=500)
        with pytest.raises(PaymentProviderUnavailable):
            await adapter.retrieve_payment_intent(intent.id)
    finally:
        await adapter.close()

    created = next(entry for entry in info_logs if entry["event"] == "stripe_call")
    assert created["operation"] == "payment_intents.create"
    assert created["object_id"] == intent.id
    assert created["idempotency_key"] == "topup:topup_1"
    assert isinstance(created["duration_ms"], int)
    failed = next(entry for entry in info_logs if entry["event"] == "stripe_call_failed")
    assert (failed["operation"], failed["http_status"]) == ("payment_intents.retrieve", 500)
    everything = repr(info_logs)
    assert STRIPE_TEST_KEY not in everything
    assert intent.client_secret is not None
    assert intent.client_secret not in everything
