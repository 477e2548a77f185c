"""Transfers from the platform to connected accounts, and their reversals."""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction, funds
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    from_fixture,
    list_object,
    merged_metadata,
    snapshot,
)
from stripe_emulator.operations import charges
from stripe_emulator.operations.settlement import charge_funds_available_on

PLATFORM_FUNDS_MESSAGE = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly "
    "to your available balance by creating Charges using the 4000000000000077 test card. "
    "See: https://stripe.com/docs/testing#available-balance"
)


def get_transfer(emu: Emulator, transfer_id: str) -> JsonObject:
    return emu.store.require("transfer", transfer_id)


def create(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    if "amount" not in params:
        raise errors.missing_parameter("amount")
    amount, currency = params["amount"], params["currency"]
    if amount <= 0:
        raise errors.invalid_integer("amount", amount)
    destination = _receiving_account(emu, params["destination"])
    available_on = _funding_date(emu, params, amount, currency)
    transfer_id, payment_id = new_id("tr"), new_id("py")
    sent = add_transaction(
        emu,
        account=None,
        amount=-amount,
        currency=currency,
        txn_type="transfer",
        source=transfer_id,
        reporting_category="transfer",
        description=params.get("description"),
        available_on=available_on,
    )
    transfer = from_fixture(
        "transfer",
        id=transfer_id,
        amount=amount,
        amount_reversed=0,
        balance_transaction=sent["id"],
        created=emu.clock.now(),
        currency=currency,
        description=params.get("description"),
        destination=destination["id"],
        destination_payment=payment_id,
        livemode=False,
        metadata=merged_metadata({}, params.get("metadata")),
        reversals=list_object(f"/v1/transfers/{transfer_id}/reversals", []),
        reversed=False,
        source_transaction=params.get("source_transaction"),
        source_type=params.get("source_type", "card"),
        transfer_group=params.get("transfer_group"),
    )
    received = add_transaction(
        emu,
        account=destination["id"],
        amount=amount,
        currency=currency,
        txn_type="payment",
        source=payment_id,
        reporting_category="charge",
        available_on=available_on,
    )
    emu.store.add(transfer)
    emu.store.add(charges.transfer_payment(payment_id, transfer, received["id"]), destination["id"])
    emit(emu, "transfer.created", transfer)
    return transfer


def reverse(emu: Emulator, transfer_id: str, params: dict[str, Any]) -> JsonObject:
    transfer = get_transfer(emu, transfer_id)
    reversible = transfer["amount"] - transfer["amount_reversed"]
    amount = params.get("amount", reversible)
    if amount <= 0 or amount > reversible:
        raise errors.invalid_request(
            f"Reversal amount ({amount}) must be positive and at most the transfer's "
            f"unreversed amount ({reversible}).",
            code="amount_too_large" if amount > 0 else "parameter_invalid_integer",
            param="amount",
        )
    account = transfer["destination"]
    received = _received_transaction(emu, transfer)
    _check_connected_funds(emu, account, received, amount)
    reversal_id = new_id("trr")
    refunded = add_transaction(
        emu,
        account=account,
        amount=-amount,
        currency=transfer["currency"],
        txn_type="payment_refund",
        source=new_id("pyr"),
        reporting_category="charge",
        available_on=received["available_on"],
    )
    returned = add_transaction(
        emu,
        account=None,
        amount=amount,
        currency=transfer["currency"],
        txn_type="transfer_refund",
        source=reversal_id,
        reporting_category="transfer_reversal",
        available_on=received["available_on"],
    )
    reversal = from_fixture(
        "transfer_reversal",
        id=reversal_id,
        amount=amount,
        balance_transaction=returned["id"],
        created=emu.clock.now(),
        currency=transfer["currency"],
        destination_payment_refund=refunded["source"],
        metadata=merged_metadata({}, params.get("metadata")),
        source_refund=None,
        transfer=transfer_id,
    )
    emu.store.add(reversal)
    before = snapshot(transfer)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, snapshot(reversal))
    emit(emu, "transfer.reversed", transfer, previous=changed_fields(before, transfer))
    return reversal


def get_reversal(emu: Emulator, transfer_id: str, reversal_id: str) -> JsonObject:
    reversal = emu.store.require("transfer_reversal", reversal_id)
    if reversal["transfer"] != transfer_id:
        raise errors.no_such("transfer_reversal", reversal_id)
    return reversal


def _receiving_account(emu: Emulator, account_id: str) -> JsonObject:
    account = emu.store.find("account", account_id)
    if account is None:
        raise errors.no_such_param("destination", account_id, "destination")
    # A restricted account's `transfers` capability is inactive, and Stripe refuses transfers to it.
    if account["capabilities"].get("transfers") != "active":
        raise errors.invalid_request(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param="destination",
        )
    return account


def _funding_date(emu: Emulator, params: dict[str, Any], amount: int, currency: str) -> int:
    """When the transferred money becomes available: now, or when the source charge's does."""
    if "source_transaction" not in params:
        if funds(emu.store, None, currency).available < amount:
            raise errors.balance_insufficient(PLATFORM_FUNDS_MESSAGE)
        return emu.clock.now()
    charge = emu.store.require_param("charge", params["source_transaction"], "source_transaction")
    if charge["currency"] != currency or charge["status"] != "succeeded":
        raise errors.invalid_request(
            "The currency of source_transaction's balance transaction must match the transfer "
            "currency and the charge must have succeeded.",
            param="source_transaction",
        )
    if _untransferred(emu, charge) < amount:
        raise errors.balance_insufficient(
            f"The transfer amount ({amount}) exceeds the untransferred amount of the source "
            f"transaction {charge['id']} ({_untransferred(emu, charge)})."
        )
    return charge_funds_available_on(emu, charge)


def _untransferred(emu: Emulator, charge: JsonObject) -> int:
    transferred = sum(
        transfer["amount"] - transfer["amount_reversed"]
        for transfer in emu.store.newest_first("transfer")
        if transfer["source_transaction"] == charge["id"]
    )
    untransferred: int = charge["amount"] - charge["amount_refunded"] - transferred
    return untransferred


def _received_transaction(emu: Emulator, transfer: JsonObject) -> JsonObject:
    payment = emu.store.require("charge", transfer["destination_payment"], transfer["destination"])
    return emu.store.require("balance_transaction", payment["balance_transaction"], transfer["destination"])


def _check_connected_funds(emu: Emulator, account: str, received: JsonObject, amount: int) -> None:
    """The reversal is taken from the balance (pending or available) the transfer went to."""
    balance = funds(emu.store, account, received["currency"])
    covered = balance.pending if received["status"] == "pending" else balance.available
    if covered < amount:
        raise errors.balance_insufficient(
            f"Insufficient funds in the connected account {account} to reverse {amount} "
            f"{received['currency']}: its {received['status']} balance is {covered}."
        )
