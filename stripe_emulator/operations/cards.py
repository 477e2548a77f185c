"""Stripe's test-mode payment methods (`pm_card_visa`, `pm_card_chargeDeclined`, ...).

A test token becomes a new `pm_` payment method carrying the test card's last four digits;
the outcome of a payment with it is read back from those digits, as Stripe's test cards do.
"""

from __future__ import annotations

from dataclasses import dataclass

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_id, now
from stripe_emulator.objects import JsonObject, from_fixture


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


@dataclass(frozen=True)
class SimulatedCard:
    brand: str
    last4: str
    decline: Decline | None = None
    requires_action: bool = False
    opens_dispute: bool = False


_GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")

VISA = SimulatedCard("visa", "4242")
TEST_CARDS: dict[str, SimulatedCard] = {
    "pm_card_visa": VISA,
    "pm_card_mastercard": SimulatedCard("mastercard", "4444"),
    "pm_card_amex": SimulatedCard("amex", "8431"),
    "pm_card_chargeDeclined": SimulatedCard("visa", "0002", decline=_GENERIC_DECLINE),
    "pm_card_visa_chargeDeclined": SimulatedCard("visa", "0002", decline=_GENERIC_DECLINE),
    "pm_card_chargeDeclinedInsufficientFunds": SimulatedCard(
        "visa",
        "9995",
        decline=Decline("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "pm_card_chargeDeclinedExpiredCard": SimulatedCard(
        "visa", "0069", decline=Decline("expired_card", "expired_card", "Your card has expired.")
    ),
    "pm_card_chargeDeclinedIncorrectCvc": SimulatedCard(
        "visa",
        "0127",
        decline=Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ),
    "pm_card_authenticationRequired": SimulatedCard("visa", "3184", requires_action=True),
    "pm_card_threeDSecure2Required": SimulatedCard("visa", "3220", requires_action=True),
    "pm_card_createDispute": SimulatedCard("visa", "0259", opens_dispute=True),
}
_BY_LAST4 = {card.last4: card for card in TEST_CARDS.values()}


def resolve_payment_method(emu: Emulator, reference: str) -> tuple[JsonObject, SimulatedCard]:
    """The payment method named by a test token or an existing `pm_` id, with its test card."""
    if reference.startswith("pm_card_"):
        card = TEST_CARDS.get(reference, VISA)
        return emu.store.add(_payment_method(card)), card
    payment_method = emu.store.find("payment_method", reference)
    if payment_method is None:
        raise errors.no_such("PaymentMethod", reference, param="payment_method")
    return payment_method, _BY_LAST4.get(payment_method["card"]["last4"], VISA)


def _payment_method(card: SimulatedCard) -> JsonObject:
    payment_method = from_fixture(
        "payment_method", id=new_id("pm"), created=now(), metadata={}, livemode=False
    )
    details = payment_method["card"]
    details.update(brand=card.brand, display_brand=card.brand, last4=card.last4)
    details["networks"] = {"available": [card.brand], "preferred": None}
    return payment_method
