"""Routes of accounts, their external accounts and capabilities, and account links."""

from __future__ import annotations

import stripe
from stripe.params import (
    AccountCapabilityListParams,
    AccountCapabilityRetrieveParams,
    AccountCreateParams,
    AccountExternalAccountListParams,
    AccountExternalAccountRetrieveParams,
    AccountLinkCreateParams,
    AccountListParams,
    AccountRetrieveCurrentParams,
    AccountRetrieveParams,
    AccountUpdateParams,
)

from stripe_emulator.api import ApiCall, ApiRoute
from stripe_emulator.expansion import Listed
from stripe_emulator.objects import JsonObject, list_object
from stripe_emulator.operations import accounts, bank_accounts
from stripe_emulator.pagination import ListScope, list_page
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


def _external_accounts(call: ApiCall) -> JsonObject:
    account = accounts.connected_account(call.emu, call.path["account"])
    found = bank_accounts.bank_accounts(call.emu, account["id"])
    scope = ListScope(call.emu.store, "bank_account", account["id"])
    return list_page(found, call.params, f"/v1/accounts/{account['id']}/external_accounts", scope)


def _external_account(call: ApiCall) -> JsonObject:
    account = accounts.connected_account(call.emu, call.path["account"])
    return call.emu.store.require("bank_account", call.path["id"], account["id"])


def _capabilities(call: ApiCall) -> JsonObject:
    account = call.path["account"]
    return list_object(f"/v1/accounts/{account}/capabilities", accounts.capabilities(call.emu, account))


def _capability(call: ApiCall) -> JsonObject:
    return accounts.capability(call.emu, call.path["account"], call.path["capability"])


def _create_link(call: ApiCall) -> JsonObject:
    return accounts.create_account_link(call.emu, call.params, call.base_url)


ROUTES = [
    ApiRoute("POST", "/v1/accounts", AccountCreateParams, _create, stripe.Account),
    ApiRoute(
        "GET", "/v1/accounts", AccountListParams, listing("account", "/v1/accounts"), Listed(stripe.Account)
    ),
    ApiRoute("GET", "/v1/accounts/{account}", AccountRetrieveParams, _retrieve, stripe.Account),
    ApiRoute("POST", "/v1/accounts/{account}", AccountUpdateParams, _update, stripe.Account),
    ApiRoute(
        "GET",
        "/v1/accounts/{account}/external_accounts",
        AccountExternalAccountListParams,
        _external_accounts,
        Listed(stripe.BankAccount),
    ),
    ApiRoute(
        "GET",
        "/v1/accounts/{account}/external_accounts/{id}",
        AccountExternalAccountRetrieveParams,
        _external_account,
        stripe.BankAccount,
    ),
    ApiRoute(
        "GET",
        "/v1/accounts/{account}/capabilities",
        AccountCapabilityListParams,
        _capabilities,
        Listed(stripe.Capability),
    ),
    ApiRoute(
        "GET",
        "/v1/accounts/{account}/capabilities/{capability}",
        AccountCapabilityRetrieveParams,
        _capability,
        stripe.Capability,
    ),
    ApiRoute("GET", "/v1/account", AccountRetrieveCurrentParams, _retrieve_current, stripe.Account),
    ApiRoute("POST", "/v1/account_links", AccountLinkCreateParams, _create_link, stripe.AccountLink),
]
