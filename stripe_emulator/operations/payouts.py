"""Payouts from an account's available balance to its bank account, then paid or failed.

A payout goes to `destination` or to the account's default bank account for the currency; the
bank account's test number decides whether it fails right after creation (`payout.created`,
then `payout.failed`), see bank_accounts.py.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction, funds
from stripe_emulator.clock import DAY_SECONDS
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    from_fixture,
    merged_metadata,
    snapshot,
)
from stripe_emulator.operations import bank_accounts
from stripe_emulator.operations.accounts import connected_account, platform_bank_account

ARRIVAL_SECONDS = 2 * DAY_SECONDS
DEFAULT_FAILURE_CODE = "account_closed"
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on the payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account. (Stripe "
    "requires bank accounts to be set up for both credit and debit payouts.)",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_currency": "The bank was unable to process this payout because of its currency. "
    "This is probably because the bank account cannot accept payments in that currency.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}
IN_FLIGHT = ("pending", "in_transit")


def create(emu: Emulator, account: str | None, params: dict[str, Any]) -> JsonObject:
    amount, currency = params["amount"], params["currency"]
    if amount <= 0:
        raise errors.invalid_integer("amount", amount)
    _check_payouts_enabled(emu, account)
    destination = _destination(emu, account, params, currency)
    if funds(emu.store, account, currency).available < amount:
        raise errors.balance_insufficient(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low.  You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance)."
        )
    payout_id = new_id("po")
    txn = add_transaction(
        emu,
        account=account,
        amount=-amount,
        currency=currency,
        txn_type="payout",
        source=payout_id,
        reporting_category="payout",
        description="STRIPE PAYOUT",
    )
    created = emu.clock.now()
    payout = from_fixture(
        "payout",
        id=payout_id,
        amount=amount,
        arrival_date=created + ARRIVAL_SECONDS,
        automatic=False,
        balance_transaction=txn["id"],
        created=created,
        currency=currency,
        description=params.get("description", "STRIPE PAYOUT"),
        destination=destination["id"],
        metadata=merged_metadata({}, params.get("metadata")),
        method=params.get("method", "standard"),
        reconciliation_status="not_applicable",
        source_type=params.get("source_type", "card"),
        statement_descriptor=params.get("statement_descriptor"),
        status="pending",
        trace_id={"status": "pending", "value": None},
    )
    emu.store.add(payout, owner=account)
    emit(emu, "payout.created", payout, account=account)
    failure_code = bank_accounts.payout_failure(emu, destination)
    if failure_code is None:
        return payout
    answered = snapshot(payout)
    fail(emu, payout_id, failure_code)
    return answered


def pay(emu: Emulator, payout_id: str) -> JsonObject:
    payout, account = _in_flight(emu, payout_id)
    before = snapshot(payout)
    payout.update(status="paid", trace_id={"status": "supported", "value": new_id("trace")})
    emit(emu, "payout.paid", payout, account=account, previous=changed_fields(before, payout))
    return payout


def fail(emu: Emulator, payout_id: str, failure_code: str | None = None) -> JsonObject:
    payout, account = _in_flight(emu, payout_id)
    code = failure_code or DEFAULT_FAILURE_CODE
    txn = add_transaction(
        emu,
        account=account,
        amount=payout["amount"],
        currency=payout["currency"],
        txn_type="payout_failure",
        source=payout_id,
        reporting_category="payout_reversal",
        description="STRIPE PAYOUT FAILURE",
    )
    before = snapshot(payout)
    payout.update(
        status="failed",
        failure_balance_transaction=txn["id"],
        failure_code=code,
        failure_message=FAILURE_MESSAGES.get(code, FAILURE_MESSAGES["could_not_process"]),
    )
    emit(emu, "payout.failed", payout, account=account, previous=changed_fields(before, payout))
    return payout


def _in_flight(emu: Emulator, payout_id: str) -> tuple[JsonObject, str | None]:
    account = emu.store.owner_of(payout_id)
    payout = emu.store.require("payout", payout_id, account)
    if payout["status"] not in IN_FLIGHT:
        raise errors.invalid_request(
            f"Payout {payout_id} has status {payout['status']}; only a pending or in_transit "
            "payout can be paid or failed."
        )
    return payout, account


def _check_payouts_enabled(emu: Emulator, account: str | None) -> None:
    if account is not None and not connected_account(emu, account)["payouts_enabled"]:
        raise errors.invalid_request(
            "Payouts are not enabled on this account. Complete its verification requirements.",
            code="payouts_not_allowed",
        )


def _destination(emu: Emulator, account: str | None, params: dict[str, Any], currency: str) -> JsonObject:
    if "destination" in params:
        bank_account = emu.store.find("bank_account", params["destination"], account)
        if bank_account is None:
            raise errors.no_such_param("external account", params["destination"], "destination")
        return bank_account
    if account is None:
        return platform_bank_account(emu)
    bank_account = bank_accounts.default_bank_account(emu, account, currency)
    if bank_account is None:
        raise errors.invalid_request(
            f"You don't have any external accounts in that currency ({currency}).",
            param="currency",
        )
    return bank_account
