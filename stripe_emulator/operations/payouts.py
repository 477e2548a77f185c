"""Payouts from an account's available balance to its bank, then paid or failed."""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction, funds
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import DAY_SECONDS, new_id, now
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    from_fixture,
    merged_metadata,
    snapshot,
)
from stripe_emulator.operations.accounts import connected_account

ARRIVAL_SECONDS = 2 * DAY_SECONDS
FAILURE_METADATA_KEY = "emulator_payout_failure"
"""Connected-account metadata naming a failure code: that account's payouts fail at once."""
DEFAULT_FAILURE_CODE = "account_closed"
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on the payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}
IN_FLIGHT = ("pending", "in_transit")


def create(emu: Emulator, account: str | None, params: dict[str, Any]) -> JsonObject:
    amount, currency = params["amount"], params["currency"]
    if amount <= 0:
        raise errors.invalid_integer("amount", amount)
    failure_code = _automatic_failure(emu, account)
    if funds(emu.store, account, currency).available < amount:
        raise errors.balance_insufficient(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low.  You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance)."
        )
    payout_id = new_id("po")
    txn = add_transaction(
        emu.store,
        account=account,
        amount=-amount,
        currency=currency,
        txn_type="payout",
        source=payout_id,
        reporting_category="payout",
        description="STRIPE PAYOUT",
    )
    created = now()
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
        destination=params.get("destination") or _bank_account(emu, account),
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
        emu.store,
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


def _automatic_failure(emu: Emulator, account: str | None) -> str | None:
    """The failure code of the account's payouts, when it must fail; refuses disabled payouts."""
    if account is None:
        return None
    connected = connected_account(emu, account)
    if not connected["payouts_enabled"]:
        raise errors.invalid_request(
            "Payouts are not enabled on this account. Complete its verification requirements.",
            code="payouts_not_allowed",
        )
    failure_code: str | None = connected["metadata"].get(FAILURE_METADATA_KEY)
    return failure_code


def _bank_account(emu: Emulator, account: str | None) -> str:
    account_id = account or emu.platform_account_id
    return "ba_" + account_id.removeprefix("acct_")
