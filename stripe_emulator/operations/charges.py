"""Charge objects: card charges of payment intents, and `py_` payments received by transfers."""

from __future__ import annotations

from stripe_emulator.ids import new_id
from stripe_emulator.objects import JsonObject, from_fixture
from stripe_emulator.operations.cards import Decline

_APPROVED = {
    "advice_code": None,
    "network_advice_code": None,
    "network_decline_code": None,
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "seller_message": "Payment complete.",
    "type": "authorized",
}


def card_charge(intent: JsonObject, payment_method: JsonObject, created: int) -> JsonObject:
    """A succeeded charge of `intent`; its balance transaction comes from settlement."""
    charge_id = new_id("ch")
    amount = intent["amount"]
    charge = _charge(charge_id, amount, intent["currency"], created)
    details = charge["payment_method_details"]
    card = payment_method["card"]
    details["card"].update(brand=card["brand"], last4=card["last4"], network=card["brand"])
    details["card"]["overcapture"]["maximum_amount_capturable"] = amount
    charge.update(
        customer=intent["customer"],
        description=intent["description"],
        metadata=dict(intent["metadata"]),
        outcome=dict(_APPROVED),
        payment_intent=intent["id"],
        payment_method=payment_method["id"],
        receipt_email=intent["receipt_email"],
        receipt_url=f"https://pay.stripe.com/receipts/payment/{charge_id}",
        transfer_group=intent["transfer_group"],
    )
    return charge


def declined_charge(
    intent: JsonObject, payment_method: JsonObject, decline: Decline, created: int
) -> JsonObject:
    charge = card_charge(intent, payment_method, created)
    charge.update(
        amount_captured=0,
        captured=False,
        paid=False,
        status="failed",
        failure_code=decline.code,
        failure_message=decline.message,
        outcome={
            **_APPROVED,
            "network_status": "declined_by_network",
            "reason": decline.decline_code,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        },
    )
    return charge


def transfer_payment(payment_id: str, transfer: JsonObject, balance_transaction: str) -> JsonObject:
    """The `py_` payment a transfer creates on the connected account."""
    charge = _charge(payment_id, transfer["amount"], transfer["currency"], transfer["created"])
    charge.update(
        balance_transaction=balance_transaction,
        payment_method_details={"stripe_account": {}, "type": "stripe_account"},
        source_transfer=transfer["id"],
        transfer_group=transfer["transfer_group"],
    )
    return charge


def _charge(charge_id: str, amount: int, currency: str, created: int) -> JsonObject:
    charge = from_fixture(
        "charge",
        id=charge_id,
        amount=amount,
        amount_captured=amount,
        amount_refunded=0,
        balance_transaction=None,
        calculated_statement_descriptor="STRIPE EMULATOR",
        captured=True,
        created=created,
        currency=currency,
        customer=None,
        description=None,
        disputed=False,
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        livemode=False,
        metadata={},
        outcome=None,
        paid=True,
        payment_intent=None,
        payment_method=None,
        receipt_url=None,
        refunded=False,
        shipping=None,
        source=None,
        source_transfer=None,
        status="succeeded",
        transfer_data=None,
        transfer_group=None,
    )
    # Stripe includes `refunds` only when expanded (see expansion.py).
    del charge["refunds"]
    return charge
