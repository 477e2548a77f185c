"""Disputes (chargebacks): opened on a charge, answered with evidence, won or lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_emulator import errors
from stripe_emulator.balances import add_transaction
from stripe_emulator.clock import DAY_SECONDS
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id
from stripe_emulator.objects import (
    JsonObject,
    changed_fields,
    deep_merge,
    fixture,
    from_fixture,
    merged_metadata,
    snapshot,
)

DISPUTE_FEE = 1500
EVIDENCE_DUE_SECONDS = 7 * DAY_SECONDS
OPEN = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
AWAITING_RESPONSE = ("needs_response", "warning_needs_response")


def get_dispute(emu: Emulator, dispute_id: str) -> JsonObject:
    return emu.store.require("dispute", dispute_id)


def open_dispute(
    emu: Emulator, charge_id: str, *, reason: str = "fraudulent", amount: int | None = None
) -> JsonObject:
    charge = emu.store.require("charge", charge_id)
    disputable = charge["amount"] - charge["amount_refunded"]
    # A fully refunded charge has nothing left to take back: a dispute of 0 would still cost the
    # platform its fee, which no chargeback books.
    if charge["status"] != "succeeded" or charge["disputed"] or disputable <= 0:
        raise errors.invalid_request(f"Charge {charge_id} cannot be disputed.", param="charge")
    amount = amount or disputable
    dispute_id = new_id("dp")
    withdrawal = add_transaction(
        emu,
        account=None,
        amount=-amount,
        currency=charge["currency"],
        txn_type="adjustment",
        source=dispute_id,
        reporting_category="dispute",
        description=f"Chargeback withdrawal for {charge_id}",
        fee=DISPUTE_FEE,
        fee_description="Dispute fee",
    )
    card = charge["payment_method_details"]["card"]
    dispute = from_fixture(
        "dispute",
        id=dispute_id,
        amount=amount,
        balance_transactions=[snapshot(withdrawal)],
        charge=charge_id,
        created=emu.clock.now(),
        currency=charge["currency"],
        evidence=_blank_evidence(),
        evidence_details={
            "due_by": emu.clock.now() + EVIDENCE_DUE_SECONDS,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        enhanced_eligibility_types=[],
        is_charge_refundable=False,
        livemode=False,
        metadata={},
        payment_intent=charge["payment_intent"],
        payment_method_details={
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network": card["brand"],
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        reason=reason,
        status="needs_response",
    )
    emu.store.add(dispute)
    charge["disputed"] = True
    emit(emu, "charge.dispute.created", dispute)
    emit(emu, "charge.dispute.funds_withdrawn", dispute)
    return dispute


def update(emu: Emulator, dispute_id: str, params: dict[str, Any]) -> JsonObject:
    def apply(dispute: JsonObject) -> None:
        dispute["metadata"] = merged_metadata(dispute["metadata"], params.get("metadata"))
        evidence = params.get("evidence")
        if evidence:
            deep_merge(dispute["evidence"], evidence)
            dispute["evidence_details"]["has_evidence"] = True
        # Stripe submits by default whenever evidence is sent.
        submit = params.get("submit", bool(evidence))
        if submit and dispute["status"] in AWAITING_RESPONSE:
            dispute["status"] = dispute["status"].replace("needs_response", "under_review")
            dispute["evidence_details"]["submission_count"] += 1

    dispute = get_dispute(emu, dispute_id)
    _require_open(dispute)
    return _change(emu, dispute, apply, "charge.dispute.updated")


def close(emu: Emulator, dispute_id: str) -> JsonObject:
    """The platform accepts the dispute: it is lost."""
    dispute = get_dispute(emu, dispute_id)
    if dispute["status"] not in AWAITING_RESPONSE:
        _require_open(dispute)
        raise errors.invalid_request(
            "This dispute is under review and can no longer be closed.", param="dispute"
        )
    return _conclude(emu, dispute, won=False)


def win(emu: Emulator, dispute_id: str) -> JsonObject:
    dispute = get_dispute(emu, dispute_id)
    _require_open(dispute)
    reinstatement = add_transaction(
        emu,
        account=None,
        amount=dispute["amount"],
        currency=dispute["currency"],
        txn_type="adjustment",
        source=dispute_id,
        reporting_category="dispute_reversal",
        description=f"Chargeback reversal for {dispute['charge']}",
        fee=-DISPUTE_FEE,
        fee_description="Dispute fee refund",
    )
    dispute["balance_transactions"].append(snapshot(reinstatement))
    emit(emu, "charge.dispute.funds_reinstated", dispute)
    return _conclude(emu, dispute, won=True)


def lose(emu: Emulator, dispute_id: str) -> JsonObject:
    dispute = get_dispute(emu, dispute_id)
    _require_open(dispute)
    return _conclude(emu, dispute, won=False)


def _conclude(emu: Emulator, dispute: JsonObject, *, won: bool) -> JsonObject:
    def apply(dispute: JsonObject) -> None:
        if dispute["status"].startswith("warning_"):
            dispute["status"] = "warning_closed"
        else:
            dispute["status"] = "won" if won else "lost"

    return _change(emu, dispute, apply, "charge.dispute.closed")


def _change(
    emu: Emulator, dispute: JsonObject, apply: Callable[[JsonObject], None], event_type: str
) -> JsonObject:
    before = snapshot(dispute)
    apply(dispute)
    emit(emu, event_type, dispute, previous=changed_fields(before, dispute))
    return dispute


def _require_open(dispute: JsonObject) -> None:
    if dispute["status"] not in OPEN:
        raise errors.invalid_request("This dispute is already closed.", param="dispute")


def _blank_evidence() -> JsonObject:
    evidence = fixture("dispute")["evidence"]
    return {key: ({} if isinstance(value, dict) else None) for key, value in evidence.items()}
