"""Routes of payment intents and charges."""

from __future__ import annotations

import stripe
from stripe.params import (
    ChargeListParams,
    ChargeRetrieveParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
    PaymentIntentSearchParams,
)

from stripe_emulator import errors
from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import payment_intents
from stripe_emulator.pagination import search_page
from stripe_emulator.params import Choice, Fields, Scalar, schema_for, with_fields
from stripe_emulator.routes.common import listing, retrieve
from stripe_emulator.search import search


def _stripe_js_confirm_params() -> Fields:
    """What Stripe.js sends to confirm with the publishable key: the SDK's confirm parameters,
    the intent's `client_secret`, and the card itself in `payment_method_data[card]` with
    `payment_method_data[type]=card` (which the server SDK does not declare: secret-key requests
    may not send raw card numbers)."""
    confirm = schema_for(PaymentIntentConfirmParams)
    method_data = confirm.fields["payment_method_data"]
    method_types = method_data.fields["type"] if isinstance(method_data, Fields) else None
    assert isinstance(method_data, Fields)
    assert isinstance(method_types, Choice)
    card = Fields(
        "card",
        ("number", "exp_month", "exp_year"),
        {"number": Scalar(str), "exp_month": Scalar(int), "exp_year": Scalar(int), "cvc": Scalar(str)},
    )
    return with_fields(
        confirm,
        "StripeJsConfirmParams",
        required=("client_secret",),
        client_secret=Scalar(str),
        payment_method_data=with_fields(
            method_data, "StripeJsPaymentMethodData", card=card, type=Choice(("card", *method_types.values))
        ),
    )


def _create(call: ApiCall) -> JsonObject:
    return payment_intents.create(call.emu, call.params, call.base_url)


def _retrieve(call: ApiCall) -> JsonObject:
    return payment_intents.retrieve(call.emu, call.path["intent"], call.params, publishable=call.publishable)


def _confirm(call: ApiCall) -> JsonObject:
    intent = payment_intents.get_intent(call.emu, call.path["intent"])
    payment_intents.check_client_secret(intent, call.params, publishable=call.publishable)
    if not call.publishable:
        return payment_intents.confirm(call.emu, intent["id"], call.params, call.base_url)
    try:
        confirmed = payment_intents.confirm(call.emu, intent["id"], call.params, call.base_url)
    except errors.StripeError as error:
        if "payment_intent" in error.details:
            error.details["payment_intent"] = payment_intents.publishable_view(
                error.details["payment_intent"]
            )
        raise
    return payment_intents.publishable_view(confirmed)


def _cancel(call: ApiCall) -> JsonObject:
    return payment_intents.cancel(call.emu, call.path["intent"], call.params)


def _search(call: ApiCall) -> JsonObject:
    intents = call.emu.store.newest_first("payment_intent", call.account)
    found = search(intents, call.params["query"])
    return search_page(found, call.params, "/v1/payment_intents/search")


ROUTES = [
    ApiRoute("POST", "/v1/payment_intents", PaymentIntentCreateParams, _create, stripe.PaymentIntent),
    ApiRoute(
        "GET",
        "/v1/payment_intents",
        PaymentIntentListParams,
        listing("payment_intent", "/v1/payment_intents", equal={"customer": "customer"}),
        Listed(stripe.PaymentIntent),
    ),
    ApiRoute(
        "GET",
        "/v1/payment_intents/search",
        PaymentIntentSearchParams,
        _search,
        Listed(stripe.PaymentIntent),
    ),
    ApiRoute(
        "GET",
        "/v1/payment_intents/{intent}",
        PaymentIntentRetrieveParams,
        _retrieve,
        stripe.PaymentIntent,
        publishable_params=schema_for(PaymentIntentRetrieveParams),
    ),
    ApiRoute(
        "POST",
        "/v1/payment_intents/{intent}/confirm",
        PaymentIntentConfirmParams,
        _confirm,
        stripe.PaymentIntent,
        publishable_params=_stripe_js_confirm_params(),
    ),
    ApiRoute(
        "POST",
        "/v1/payment_intents/{intent}/cancel",
        PaymentIntentCancelParams,
        _cancel,
        stripe.PaymentIntent,
    ),
    ApiRoute(
        "GET",
        "/v1/charges",
        ChargeListParams,
        listing(
            "charge",
            "/v1/charges",
            equal={"payment_intent": "payment_intent", "transfer_group": "transfer_group"},
        ),
        Listed(stripe.Charge),
    ),
    ApiRoute(
        "GET", "/v1/charges/{charge}", ChargeRetrieveParams, retrieve("charge", "charge"), stripe.Charge
    ),
]
