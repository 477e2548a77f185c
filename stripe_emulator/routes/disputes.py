"""Routes of disputes."""

from __future__ import annotations

import stripe
from stripe.params import (
    DisputeCloseParams,
    DisputeListParams,
    DisputeRetrieveParams,
    DisputeUpdateParams,
)

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import disputes
from stripe_emulator.routes.common import listing, retrieve


def _update(call: ApiCall) -> JsonObject:
    return disputes.update(call.emu, call.path["dispute"], call.params)


def _close(call: ApiCall) -> JsonObject:
    return disputes.close(call.emu, call.path["dispute"])


ROUTES = [
    ApiRoute(
        "GET",
        "/v1/disputes",
        DisputeListParams,
        listing(
            "dispute",
            "/v1/disputes",
            equal={"charge": "charge", "payment_intent": "payment_intent"},
        ),
        Listed(stripe.Dispute),
    ),
    ApiRoute(
        "GET", "/v1/disputes/{dispute}", DisputeRetrieveParams, retrieve("dispute", "dispute"), stripe.Dispute
    ),
    ApiRoute("POST", "/v1/disputes/{dispute}", DisputeUpdateParams, _update, stripe.Dispute),
    ApiRoute("POST", "/v1/disputes/{dispute}/close", DisputeCloseParams, _close, stripe.Dispute),
]
