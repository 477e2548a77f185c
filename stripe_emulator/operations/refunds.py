"""Refunds of card charges, paid from the platform's balance."""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id, now
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    from_fixture,
    merged_metadata,
    snapshot,
)

_REFUNDABLE_DISPUTE_STATUSES = ("won", "warning_closed")


def create(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    charge = _charge_to_refund(emu, params)
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = params.get("amount", remaining)
    _check_refundable(emu, charge, amount, remaining)
    refund_id = new_id("re")
    charge_txn = emu.store.require("balance_transaction", charge["balance_transaction"])
    txn = add_transaction(
        emu.store,
        account=None,
        amount=-amount,
        currency=charge["currency"],
        txn_type="refund",
        source=refund_id,
        reporting_category="refund",
        description="REFUND FOR CHARGE",
        # A refund of funds still pending comes out of the pending balance.
        available_on=charge_txn["available_on"],
    )
    refund = from_fixture(
        "refund",
        id=refund_id,
        amount=amount,
        balance_transaction=txn["id"],
        charge=charge["id"],
        created=now(),
        currency=charge["currency"],
        customer=charge["customer"],
        metadata=merged_metadata({}, params.get("metadata")),
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=params.get("reason"),
        status="succeeded",
    )
    emu.store.add(refund)
    before = snapshot(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, snapshot(refund))
    emit(emu, "charge.refunded", charge, previous=changed_fields(before, charge))
    emit(emu, "refund.created", refund)
    return refund


def _charge_to_refund(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    if "charge" in params:
        return emu.store.require("charge", params["charge"], param="charge")
    if "payment_intent" not in params:
        raise errors.invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    intent = emu.store.require("payment_intent", params["payment_intent"], param="payment_intent")
    if intent["status"] != "succeeded":
        raise errors.invalid_request(
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            code="charge_not_refundable",
            param="payment_intent",
        )
    return emu.store.require("charge", intent["latest_charge"], param="payment_intent")


def _check_refundable(emu: Emulator, charge: JsonObject, amount: int, remaining: int) -> None:
    if charge["disputed"] and not _dispute_allows_refund(emu, charge["id"]):
        raise errors.invalid_request(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if remaining <= 0:
        raise errors.invalid_request(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    if amount <= 0:
        raise errors.invalid_integer("amount", amount)
    if amount > remaining:
        raise errors.invalid_request(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )


def _dispute_allows_refund(emu: Emulator, charge_id: str) -> bool:
    disputes = [d for d in emu.store.newest_first("dispute") if d["charge"] == charge_id]
    return all(dispute["status"] in _REFUNDABLE_DISPUTE_STATUSES for dispute in disputes)
