"""Routes of payment intents and charges."""

from __future__ import annotations

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

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import payment_intents
from stripe_emulator.pagination import search_page
from stripe_emulator.routes.common import listing, retrieve
from stripe_emulator.search import search


def _create(call: ApiCall) -> JsonObject:
    return payment_intents.create(call.emu, call.params)


def _confirm(call: ApiCall) -> JsonObject:
    return payment_intents.confirm(call.emu, call.path["intent"], call.params)


def _cancel(call: ApiCall) -> JsonObject:
    return payment_intents.cancel(call.emu, call.path["intent"], call.params)


def _search(call: ApiCall) -> JsonObject:
    intents = call.emu.store.newest_first("payment_intent", call.account)
    found = search(intents, call.params["query"])
    return search_page(found, call.params, "/v1/payment_intents/search")


ROUTES = [
    ApiRoute("POST", "/v1/payment_intents", PaymentIntentCreateParams, _create),
    ApiRoute(
        "GET",
        "/v1/payment_intents",
        PaymentIntentListParams,
        listing("payment_intent", "/v1/payment_intents", equal={"customer": "customer"}),
    ),
    ApiRoute("GET", "/v1/payment_intents/search", PaymentIntentSearchParams, _search),
    ApiRoute(
        "GET",
        "/v1/payment_intents/{intent}",
        PaymentIntentRetrieveParams,
        retrieve("payment_intent", "intent"),
    ),
    ApiRoute("POST", "/v1/payment_intents/{intent}/confirm", PaymentIntentConfirmParams, _confirm),
    ApiRoute("POST", "/v1/payment_intents/{intent}/cancel", PaymentIntentCancelParams, _cancel),
    ApiRoute(
        "GET",
        "/v1/charges",
        ChargeListParams,
        listing(
            "charge",
            "/v1/charges",
            equal={"payment_intent": "payment_intent", "transfer_group": "transfer_group"},
        ),
    ),
    ApiRoute("GET", "/v1/charges/{charge}", ChargeRetrieveParams, retrieve("charge", "charge")),
]
