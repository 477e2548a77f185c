"""Routes of accounts and account links."""

from __future__ import annotations

from stripe.params import (
    AccountCreateParams,
    AccountLinkCreateParams,
    AccountListParams,
    AccountRetrieveCurrentParams,
    AccountRetrieveParams,
    AccountUpdateParams,
)

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations import accounts
from stripe_emulator.routes.common import listing


def _create(call: ApiCall) -> JsonObject:
    return accounts.create_account(call.emu, call.params)


def _retrieve(call: ApiCall) -> JsonObject:
    if call.path["account"] == call.emu.platform_account_id:
        return accounts.platform_account(call.emu)
    return accounts.connected_account(call.emu, call.path["account"])


def _retrieve_current(call: ApiCall) -> JsonObject:
    if call.account is None:
        return accounts.platform_account(call.emu)
    return accounts.connected_account(call.emu, call.account)


def _update(call: ApiCall) -> JsonObject:
    return accounts.update_account(call.emu, call.path["account"], call.params)


def _create_link(call: ApiCall) -> JsonObject:
    return accounts.create_account_link(call.emu, call.params, call.base_url)


ROUTES = [
    ApiRoute("POST", "/v1/accounts", AccountCreateParams, _create),
    ApiRoute("GET", "/v1/accounts", AccountListParams, listing("account", "/v1/accounts")),
    ApiRoute("GET", "/v1/accounts/{account}", AccountRetrieveParams, _retrieve),
    ApiRoute("POST", "/v1/accounts/{account}", AccountUpdateParams, _update),
    ApiRoute("GET", "/v1/account", AccountRetrieveCurrentParams, _retrieve_current),
    ApiRoute("POST", "/v1/account_links", AccountLinkCreateParams, _create_link),
]
