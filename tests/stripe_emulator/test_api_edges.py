"""The edges of the API as Stripe draws them: cursors, expansion, missing objects, API versions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import funded_platform, paid_intent, verified_account


@pytest.fixture
async def api(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {emulator.settings.api_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        yield client


async def transfers_to_two_sellers(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> tuple[str, str, list[str]]:
    """Transfers alternating between two sellers, oldest first."""
    first = await verified_account(stripe_client, emulator)
    second = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator, 100_000)
    created = []
    for index in range(6):
        params: Any = {"amount": 100 + index, "currency": "usd", "destination": (first, second)[index % 2]}
        created.append((await stripe_client.v1.transfers.create_async(params)).id)
    return first, second, created


async def test_a_cursor_may_be_any_object_of_the_lists_type_whatever_the_filters(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    first, _, created = await transfers_to_two_sellers(stripe_client, emulator)
    to_first = created[0::2]  # oldest first: t0, t2, t4
    outside_filter = created[3]  # to the second seller

    older = await stripe_client.v1.transfers.list_async(
        {"destination": first, "starting_after": outside_filter}
    )
    newer = await stripe_client.v1.transfers.list_async(
        {"destination": first, "ending_before": outside_filter}
    )

    assert [transfer.id for transfer in older.data] == [to_first[1], to_first[0]]
    assert [transfer.id for transfer in newer.data] == [to_first[2]]


async def test_a_cursor_naming_no_object_of_the_lists_type_is_refused(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await paid_intent(stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as other_type:
        await stripe_client.v1.transfers.list_async({"starting_after": intent.id})

    assert (other_type.value.http_status, other_type.value.code) == (400, "resource_missing")
    assert other_type.value.param == "starting_after"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/payment_intents/{intent}?expand[]=metadata", "This property cannot be expanded (metadata)."),
        ("/v1/payment_intents/{intent}?expand[]=bogus", "This property cannot be expanded (bogus)."),
        (
            "/v1/payment_intents/{intent}?expand[]=latest_charge.amount",
            "This property cannot be expanded (latest_charge.amount).",
        ),
        (
            "/v1/charges?expand[]=balance_transaction",
            "This property cannot be expanded (balance_transaction). "
            "You may want to try expanding 'data.balance_transaction' instead.",
        ),
    ],
)
async def test_a_path_that_cannot_be_expanded_is_refused(
    stripe_client: stripe.StripeClient, api: httpx.AsyncClient, path: str, message: str
) -> None:
    intent = await paid_intent(stripe_client)

    refused = await api.get(path.format(intent=intent.id))

    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["message"] == message


async def test_expansion_stops_at_four_levels(
    stripe_client: stripe.StripeClient, api: httpx.AsyncClient
) -> None:
    await paid_intent(stripe_client)

    refused = await api.get(
        "/v1/refunds?expand[]=data.charge.payment_intent.latest_charge.balance_transaction"
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "property_expansion_max_depth"


async def test_a_create_with_a_bad_expansion_creates_nothing(
    stripe_client: stripe.StripeClient, api: httpx.AsyncClient
) -> None:
    refused = await api.post(
        "/v1/payment_intents", data={"amount": 900, "currency": "usd", "expand[]": "nope"}
    )

    assert refused.status_code == 400
    assert (await stripe_client.v1.payment_intents.list_async()).data == []


async def test_valid_nested_expansions_work(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    intent = await funded_platform(stripe_client, emulator)
    await stripe_client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 100})

    refunds = await stripe_client.v1.refunds.list_async({"expand": ["data.charge.balance_transaction"]})
    charge = await stripe_client.v1.charges.retrieve_async(
        str(intent.latest_charge), {"expand": ["refunds.data.balance_transaction"]}
    )

    [refund] = refunds.data
    assert isinstance(refund.charge, stripe.Charge)
    assert isinstance(refund.charge.balance_transaction, stripe.BalanceTransaction)
    assert charge.refunds is not None
    assert isinstance(charge.refunds.data[0].balance_transaction, stripe.BalanceTransaction)


MISSING_IN_BODY = [
    ("POST", "/v1/transfers", {"amount": 100, "currency": "usd", "destination": "acct_nope"}, "destination"),
    (
        "POST",
        "/v1/transfers",
        {"amount": 100, "currency": "usd", "destination": "{seller}", "source_transaction": "ch_nope"},
        "source_transaction",
    ),
    ("POST", "/v1/refunds", {"charge": "ch_nope"}, "charge"),
    ("POST", "/v1/refunds", {"payment_intent": "pi_nope"}, "payment_intent"),
    ("POST", "/v1/account_links", {"account": "acct_nope", "type": "account_onboarding"}, "account"),
    ("POST", "/v1/payment_intents/{intent}/confirm", {"payment_method": "pm_nope"}, "payment_method"),
    ("POST", "/v1/payouts", {"amount": 100, "currency": "usd", "destination": "ba_nope"}, "destination"),
]
MISSING_IN_PATH = [
    "/v1/accounts/acct_nope",
    "/v1/payment_intents/pi_nope",
    "/v1/charges/ch_nope",
    "/v1/refunds/re_nope",
    "/v1/transfers/tr_nope",
    "/v1/transfers/tr_nope/reversals",
    "/v1/payouts/po_nope",
    "/v1/disputes/dp_nope",
    "/v1/balance_transactions/txn_nope",
    "/v1/events/evt_nope",
]


@pytest.mark.parametrize(("method", "path", "body", "param"), MISSING_IN_BODY)
async def test_a_missing_object_named_in_a_parameter_is_a_400_resource_missing(
    stripe_client: stripe.StripeClient,
    emulator: EmulatorServer,
    api: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any],
    param: str,
) -> None:
    seller = await verified_account(stripe_client, emulator)
    intent = await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})
    await funded_platform(stripe_client, emulator)
    filled = {name: str(value).format(seller=seller) for name, value in body.items()}

    refused = await api.request(method, path.format(intent=intent.id), data=filled)

    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["param"]) == (400, "resource_missing", param)
    assert error["message"].startswith("No such ")


@pytest.mark.parametrize("path", MISSING_IN_PATH)
async def test_a_missing_object_in_the_path_is_a_404_resource_missing(
    api: httpx.AsyncClient, path: str
) -> None:
    refused = await api.get(path)

    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["param"]) == (404, "resource_missing", "id")


async def test_the_sdks_pinned_api_version_is_served_and_events_carry_it(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    assert stripe.api_version == "2026-10-28.endive"
    intent = await paid_intent(stripe_client)

    assert intent.last_response is not None
    assert intent.last_response.headers["Stripe-Version"] == stripe.api_version
    events = await stripe_client.v1.events.list_async()
    assert {event.api_version for event in events.data} == {stripe.api_version}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2099-01-01", "Invalid Stripe API version: 2099-01-01"),
        ("2025-09-30.acacia", "Invalid Stripe API version: 2025-09-30.acacia"),
        ("2019-2-19", "Invalid Stripe API version: 2019-2-19"),
        ("2024-06-20", "The Stripe emulator renders API version"),
    ],
)
async def test_another_api_version_is_refused(api: httpx.AsyncClient, version: str, message: str) -> None:
    refused = await api.get("/v1/balance", headers={"Stripe-Version": version})
    without = await api.get("/v1/balance")

    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["message"].startswith(message)
    assert without.status_code == 200
