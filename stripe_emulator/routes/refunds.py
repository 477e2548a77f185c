"""Routes of refunds."""

from __future__ import annotations

import stripe
from stripe.params import RefundCreateParams, RefundListParams, RefundRetrieveParams

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import refunds
from stripe_emulator.routes.common import listing, retrieve


def _create(call: ApiCall) -> JsonObject:
    return refunds.create(call.emu, call.params)


ROUTES = [
    ApiRoute("POST", "/v1/refunds", RefundCreateParams, _create, stripe.Refund),
    ApiRoute(
        "GET",
        "/v1/refunds",
        RefundListParams,
        listing(
            "refund",
            "/v1/refunds",
            equal={"charge": "charge", "payment_intent": "payment_intent"},
        ),
        Listed(stripe.Refund),
    ),
    ApiRoute(
        "GET", "/v1/refunds/{refund}", RefundRetrieveParams, retrieve("refund", "refund"), stripe.Refund
    ),
]
