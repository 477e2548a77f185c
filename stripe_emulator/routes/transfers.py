"""Routes of transfers and transfer reversals."""

from __future__ import annotations

import stripe
from stripe.params import (
    TransferCreateParams,
    TransferListParams,
    TransferRetrieveParams,
    TransferReversalCreateParams,
    TransferReversalListParams,
    TransferReversalRetrieveParams,
)

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import transfers
from stripe_emulator.pagination import ListScope, list_page
from stripe_emulator.routes.common import listing, retrieve


def _create(call: ApiCall) -> JsonObject:
    return transfers.create(call.emu, call.params)


def _reverse(call: ApiCall) -> JsonObject:
    return transfers.reverse(call.emu, call.path["transfer"], call.params)


def _list_reversals(call: ApiCall) -> JsonObject:
    store = call.emu.store
    transfer = transfers.get_transfer(call.emu, call.path["transfer"])
    reversals = [
        reversal
        for reversal in store.newest_first("transfer_reversal")
        if reversal["transfer"] == transfer["id"]
    ]
    scope = ListScope(store, "transfer_reversal")
    return list_page(reversals, call.params, transfer["reversals"]["url"], scope)


def _retrieve_reversal(call: ApiCall) -> JsonObject:
    return transfers.get_reversal(call.emu, call.path["transfer"], call.path["reversal"])


ROUTES = [
    ApiRoute("POST", "/v1/transfers", TransferCreateParams, _create, stripe.Transfer),
    ApiRoute(
        "GET",
        "/v1/transfers",
        TransferListParams,
        listing(
            "transfer",
            "/v1/transfers",
            equal={"destination": "destination", "transfer_group": "transfer_group"},
        ),
        Listed(stripe.Transfer),
    ),
    ApiRoute(
        "GET",
        "/v1/transfers/{transfer}",
        TransferRetrieveParams,
        retrieve("transfer", "transfer"),
        stripe.Transfer,
    ),
    ApiRoute(
        "POST",
        "/v1/transfers/{transfer}/reversals",
        TransferReversalCreateParams,
        _reverse,
        stripe.TransferReversal,
    ),
    ApiRoute(
        "GET",
        "/v1/transfers/{transfer}/reversals",
        TransferReversalListParams,
        _list_reversals,
        Listed(stripe.TransferReversal),
    ),
    ApiRoute(
        "GET",
        "/v1/transfers/{transfer}/reversals/{reversal}",
        TransferReversalRetrieveParams,
        _retrieve_reversal,
        stripe.TransferReversal,
    ),
]
