"""Refunds of card charges, paid from the platform's balance, as Stripe runs them.

A card refund is created `pending` (`refund.created`, then `charge.refunded`), and later
`succeeded` (`refund.updated`) or `failed` with a `failure_reason` (`refund.updated`, then
`refund.failed`). A failed refund gives the money back to the balance with a `refund_failure`
balance transaction (`failure_balance_transaction`), and the charge can be refunded again
(https://docs.stripe.com/refunds#failed-refunds). Refunds of the test card 4000000000005126
(`pm_card_refundFail`) fail with `expired_or_canceled_card`, as at Stripe.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction
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
from stripe_emulator.operations.cards import card_of
from stripe_emulator.operations.settlement import charge_funds_available_on

_REFUNDABLE_DISPUTE_STATUSES = ("won", "warning_closed")
# The values Stripe documents for `refund.failure_reason`.
FAILURE_REASONS = (
    "charge_for_pending_refund_disputed",
    "declined",
    "expired_or_canceled_card",
    "insufficient_funds",
    "lost_or_stolen_card",
    "merchant_request",
    "unknown",
)


def create(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    charge = _charge_to_refund(emu, params)
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = params.get("amount", remaining)
    _check_refundable(emu, charge, amount, remaining)
    refund_id = new_id("re")
    txn = add_transaction(
        emu,
        account=None,
        amount=-amount,
        currency=charge["currency"],
        txn_type="refund",
        source=refund_id,
        reporting_category="refund",
        description="REFUND FOR CHARGE",
        # A refund of funds still pending comes out of the pending balance.
        available_on=charge_funds_available_on(emu, charge),
    )
    refund = from_fixture(
        "refund",
        id=refund_id,
        amount=amount,
        balance_transaction=txn["id"],
        charge=charge["id"],
        created=emu.clock.now(),
        currency=charge["currency"],
        customer=charge["customer"],
        metadata=merged_metadata({}, params.get("metadata")),
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=params.get("reason"),
        status="pending",
    )
    emu.store.add(refund)
    emit(emu, "refund.created", refund)
    before = snapshot(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    emit(emu, "charge.refunded", charge, previous=changed_fields(before, charge))
    _finish_later(emu, refund_id)
    return refund


def succeed(emu: Emulator, refund_id: str) -> JsonObject:
    refund = _pending(emu, refund_id)
    before = snapshot(refund)
    refund["status"] = "succeeded"
    emit(emu, "refund.updated", refund, previous=changed_fields(before, refund))
    return refund


def fail(emu: Emulator, refund_id: str, failure_reason: str | None = None) -> JsonObject:
    refund = _pending(emu, refund_id)
    reason = failure_reason or "unknown"
    if reason not in FAILURE_REASONS:
        raise errors.invalid_request(
            f"Unknown failure_reason '{reason}'; expected one of {', '.join(FAILURE_REASONS)}.",
            param="failure_reason",
        )
    refunded = emu.store.require("balance_transaction", refund["balance_transaction"])
    returned = add_transaction(
        emu,
        account=None,
        amount=refund["amount"],
        currency=refund["currency"],
        txn_type="refund_failure",
        source=refund_id,
        reporting_category="refund_failure",
        description="REFUND FAILURE",
        available_on=refunded["available_on"],
    )
    charge = emu.store.require("charge", refund["charge"])
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    before = snapshot(refund)
    # Stripe's refund carries these two fields once it has failed (its example refund has neither).
    refund.update(status="failed", failure_reason=reason, failure_balance_transaction=returned["id"])
    emit(emu, "refund.updated", refund, previous=changed_fields(before, refund))
    emit(emu, "refund.failed", refund)
    return refund


def finish(emu: Emulator, refund_id: str) -> JsonObject:
    """The outcome the card gives: refunds of 4000000000005126 fail, others succeed."""
    refund = emu.store.require("refund", refund_id)
    charge = emu.store.require("charge", refund["charge"])
    payment_method = emu.store.find("payment_method", charge["payment_method"] or "")
    if payment_method is not None and card_of(payment_method).refunds_fail:
        return fail(emu, refund_id, "expired_or_canceled_card")
    return succeed(emu, refund_id)


def finish_due(emu: Emulator, until: float) -> None:
    for refund_id, due in list(emu.pending.refund_outcomes.items()):
        if due <= until:
            finish(emu, refund_id)


def _finish_later(emu: Emulator, refund_id: str) -> None:
    delay = emu.config.processing_delay_seconds
    emu.pending.refund_outcomes[refund_id] = emu.clock.time() + (delay or 0)
    if delay is not None:
        emu.timers.later(delay, lambda: _finish_if_pending(emu, refund_id))


def _finish_if_pending(emu: Emulator, refund_id: str) -> None:
    if refund_id in emu.pending.refund_outcomes:
        finish(emu, refund_id)


def _pending(emu: Emulator, refund_id: str) -> JsonObject:
    refund = emu.store.require("refund", refund_id)
    if refund["status"] != "pending":
        raise errors.invalid_request(
            f"Refund {refund_id} has status {refund['status']}; only a pending refund can succeed or fail."
        )
    emu.pending.refund_outcomes.pop(refund_id, None)
    return refund


def _charge_to_refund(emu: Emulator, params: dict[str, Any]) -> JsonObject:
    if "charge" in params:
        return emu.store.require_param("charge", params["charge"], "charge")
    if "payment_intent" not in params:
        raise errors.invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    intent = emu.store.require_param("payment_intent", params["payment_intent"], "payment_intent")
    if intent["status"] != "succeeded":
        raise errors.invalid_request(
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            code="charge_not_refundable",
            param="payment_intent",
        )
    return emu.store.require("charge", intent["latest_charge"])


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
