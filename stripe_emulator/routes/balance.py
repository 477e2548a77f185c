"""Routes of payouts, the balance and balance transactions."""

from __future__ import annotations

import stripe
from stripe.params import (
    BalanceRetrieveParams,
    BalanceTransactionListParams,
    BalanceTransactionRetrieveParams,
    PayoutCreateParams,
    PayoutListParams,
    PayoutRetrieveParams,
)

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.balances import balance_object
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import payouts
from stripe_emulator.routes.common import listing, retrieve


def _create_payout(call: ApiCall) -> JsonObject:
    return payouts.create(call.emu, call.account, call.params)


def _balance(call: ApiCall) -> JsonObject:
    return balance_object(call.emu.store, call.account)


ROUTES = [
    ApiRoute("POST", "/v1/payouts", PayoutCreateParams, _create_payout, stripe.Payout),
    ApiRoute(
        "GET",
        "/v1/payouts",
        PayoutListParams,
        listing(
            "payout",
            "/v1/payouts",
            equal={"status": "status", "destination": "destination"},
            ranges=("created", "arrival_date"),
        ),
        Listed(stripe.Payout),
    ),
    ApiRoute(
        "GET", "/v1/payouts/{payout}", PayoutRetrieveParams, retrieve("payout", "payout"), stripe.Payout
    ),
    ApiRoute("GET", "/v1/balance", BalanceRetrieveParams, _balance, stripe.Balance),
    ApiRoute(
        "GET",
        "/v1/balance_transactions",
        BalanceTransactionListParams,
        listing(
            "balance_transaction",
            "/v1/balance_transactions",
            equal={"type": "type", "payout": "source", "source": "source", "currency": "currency"},
        ),
        Listed(stripe.BalanceTransaction),
    ),
    ApiRoute(
        "GET",
        "/v1/balance_transactions/{txn}",
        BalanceTransactionRetrieveParams,
        retrieve("balance_transaction", "txn"),
        stripe.BalanceTransaction,
    ),
]
