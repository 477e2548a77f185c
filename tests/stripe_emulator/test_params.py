"""Parameters checked against the SDK's own `stripe.params` types."""

from __future__ import annotations

from typing import Any, cast

import pytest
import stripe
from stripe._request_options import RequestOptions
from stripe.params import (
    AccountCreateParams,
    AccountLinkCreateParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    TransferCreateParams,
)

from stripe_emulator.errors import StripeError
from stripe_emulator.formencoding import decode
from stripe_emulator.params import schema_for, validate
from tests.stripe_emulator.support import verified_account

TRANSFER = "amount=100&currency=usd&destination=acct_1"


def refused(params_type: type, body: str) -> StripeError:
    with pytest.raises(StripeError) as raised:
        validate(params_type, decode(body))
    return raised.value


def test_the_schema_is_read_from_the_sdk_type() -> None:
    declared = set(TransferCreateParams.__annotations__) - set(RequestOptions.__annotations__)
    assert set(schema_for(TransferCreateParams).fields) == declared


def test_values_are_converted_to_the_declared_types() -> None:
    params = validate(TransferCreateParams, decode(TRANSFER + "&metadata[order]=o1"))
    assert params == {
        "amount": 100,
        "currency": "usd",
        "destination": "acct_1",
        "metadata": {"order": "o1"},
    }


def test_an_unknown_top_level_parameter_is_refused() -> None:
    error = refused(TransferCreateParams, TRANSFER + "&amount_cents=100")
    assert (error.status, error.code, error.param) == (400, "parameter_unknown", "amount_cents")
    assert error.message == "Received unknown parameter: amount_cents"


def test_an_unknown_nested_parameter_is_refused() -> None:
    error = refused(PaymentIntentCreateParams, "amount=100&currency=usd&transfer_data[foo]=x")
    assert (error.code, error.param) == ("parameter_unknown", "transfer_data[foo]")


def test_a_deeply_nested_unknown_parameter_is_refused() -> None:
    body = "settings[payouts][schedule][interval]=manual&settings[payouts][schedule][bogus]=1"
    assert validate(AccountCreateParams, decode(body.split("&")[0]))
    assert refused(AccountCreateParams, body).param == "settings[payouts][schedule][bogus]"


def test_metadata_takes_any_key() -> None:
    params = validate(TransferCreateParams, decode(TRANSFER + "&metadata[anything_at_all]=1"))
    assert params["metadata"] == {"anything_at_all": "1"}


@pytest.mark.parametrize("option", sorted(RequestOptions.__annotations__))
def test_request_options_are_not_body_parameters(option: str) -> None:
    assert refused(TransferCreateParams, f"{TRANSFER}&{option}=x").code == "parameter_unknown"


@pytest.mark.parametrize("body", ["expand[0]=a&expand[1]=b", "expand[]=a&expand[]=b"])
def test_lists_accept_both_encodings(body: str) -> None:
    assert validate(TransferCreateParams, decode(f"{TRANSFER}&{body}"))["expand"] == ["a", "b"]


def test_a_union_takes_an_integer_or_a_range() -> None:
    assert validate(PaymentIntentListParams, decode("created=7")) == {"created": 7}
    ranged = validate(PaymentIntentListParams, decode("created[gte]=5&created[lte]=9"))
    assert ranged == {"created": {"gte": 5, "lte": 9}}
    assert refused(PaymentIntentListParams, "created[since]=5").param == "created[since]"


def test_booleans_and_integers_are_checked() -> None:
    body = "amount=100&currency=usd&confirm="
    assert validate(PaymentIntentCreateParams, decode(body + "true"))["confirm"] is True
    assert refused(PaymentIntentCreateParams, body + "yes").param == "confirm"
    error = refused(TransferCreateParams, "amount=ten&currency=usd&destination=acct_1")
    assert (error.code, error.param) == ("parameter_invalid_integer", "amount")


def test_a_missing_required_parameter_is_refused() -> None:
    error = refused(TransferCreateParams, "amount=100&currency=usd")
    assert (error.code, error.param) == ("parameter_missing", "destination")


def test_literal_values_are_enforced() -> None:
    valid = "account=acct_1&type=account_onboarding"
    assert validate(AccountLinkCreateParams, decode(valid))["type"] == "account_onboarding"
    assert refused(AccountLinkCreateParams, "account=acct_1&type=onboarding").param == "type"


async def test_the_sdk_gets_stripes_unknown_parameter_error(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.transfers.create_async(
            cast(Any, {"amount": 100, "currency": "usd", "destination": "acct_1", "foo": "x"})
        )
    assert raised.value.http_status == 400
    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "foo"
    assert raised.value.user_message == "Received unknown parameter: foo"


async def test_the_sdk_gets_a_nested_unknown_parameter_refused(
    stripe_client: stripe.StripeClient, emulator: Any
) -> None:
    account = await verified_account(stripe_client, emulator)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.payment_intents.create_async(
            cast(
                Any,
                {
                    "amount": 1000,
                    "currency": "usd",
                    "metadata": {"any": "key"},
                    "transfer_data": {"destination": account, "foo": "x"},
                },
            )
        )
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "transfer_data[foo]")
