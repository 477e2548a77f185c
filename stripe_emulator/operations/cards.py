"""Stripe's test cards (https://docs.stripe.com/testing): payment method tokens such as
`pm_card_visa`, and the card numbers Stripe.js sends in `payment_method_data[card]`.

A test card becomes a new `pm_` payment method carrying its last four digits; the outcome of a
payment with it is read back from those digits, as Stripe's test cards do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_id
from stripe_emulator.objects import JsonObject, from_fixture


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


@dataclass(frozen=True)
class SimulatedCard:
    brand: str
    number: str
    decline: Decline | None = None
    requires_action: bool = False
    opens_dispute: bool = False
    refunds_fail: bool = False
    """Refunds of its charges fail with `expired_or_canceled_card` (card 4000000000005126)."""

    @property
    def last4(self) -> str:
        return self.number[-4:]


_GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
_DECLINED = SimulatedCard("visa", "4000000000000002", decline=_GENERIC_DECLINE)
THREE_D_SECURE = SimulatedCard("visa", "4000002760003184", requires_action=True)

VISA = SimulatedCard("visa", "4242424242424242")
TEST_CARDS: dict[str, SimulatedCard] = {
    "pm_card_visa": VISA,
    "pm_card_mastercard": SimulatedCard("mastercard", "5555555555554444"),
    "pm_card_amex": SimulatedCard("amex", "371449635398431"),
    "pm_card_chargeDeclined": _DECLINED,
    "pm_card_visa_chargeDeclined": _DECLINED,
    "pm_card_chargeDeclinedInsufficientFunds": SimulatedCard(
        "visa",
        "4000000000009995",
        decline=Decline("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "pm_card_chargeDeclinedExpiredCard": SimulatedCard(
        "visa",
        "4000000000000069",
        decline=Decline("expired_card", "expired_card", "Your card has expired."),
    ),
    "pm_card_chargeDeclinedIncorrectCvc": SimulatedCard(
        "visa",
        "4000000000000127",
        decline=Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ),
    "pm_card_authenticationRequired": THREE_D_SECURE,
    "pm_card_threeDSecure2Required": SimulatedCard("visa", "4000000000003220", requires_action=True),
    "pm_card_createDispute": SimulatedCard("visa", "4000000000000259", opens_dispute=True),
    "pm_card_refundFail": SimulatedCard("visa", "4000000000005126", refunds_fail=True),
}
_BY_NUMBER = {card.number: card for card in TEST_CARDS.values()}
_BY_LAST4 = {card.last4: card for card in TEST_CARDS.values()}
_LIVE_CARD = Decline(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)


def resolve_payment_method(emu: Emulator, reference: str) -> tuple[JsonObject, SimulatedCard]:
    """The payment method named by a test token or an existing `pm_` id, with its test card."""
    if reference.startswith("pm_card_"):
        card = TEST_CARDS.get(reference, VISA)
        return emu.store.add(_payment_method(emu, card)), card
    payment_method = emu.store.find("payment_method", reference)
    if payment_method is None:
        # Stripe names this one by its class: "No such PaymentMethod: 'pm_...'".
        raise errors.no_such_param("PaymentMethod", reference, "payment_method")
    return payment_method, card_of(payment_method)


def card_of(payment_method: JsonObject) -> SimulatedCard:
    return _BY_LAST4.get(payment_method["card"]["last4"], VISA)


def payment_method_from_data(emu: Emulator, data: dict[str, Any]) -> tuple[JsonObject, SimulatedCard]:
    """The payment method Stripe.js creates from `payment_method_data[card][number]`; a number
    that is not a test card is declined as Stripe declines it in test mode."""
    if data.get("type") != "card" or "card" not in data:
        raise errors.invalid_request(
            "The Stripe emulator accepts card details only: payment_method_data[type]=card with "
            "payment_method_data[card][number].",
            param="payment_method_data[type]",
        )
    number = data["card"]["number"].replace(" ", "")
    card = _BY_NUMBER.get(number)
    if card is None:
        if not _passes_luhn(number):
            raise errors.card_error("incorrect_number", "Your card number is incorrect.", {})
        raise errors.card_error(
            _LIVE_CARD.code, _LIVE_CARD.message, {"decline_code": _LIVE_CARD.decline_code}
        )
    return emu.store.add(_payment_method(emu, card)), card


def _passes_luhn(number: str) -> bool:
    if not number.isdigit() or len(number) < 12:
        return False
    digits = [int(digit) for digit in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * digit, 10)) for digit in digits[1::2])
    return total % 10 == 0


def _payment_method(emu: Emulator, card: SimulatedCard) -> JsonObject:
    payment_method = from_fixture(
        "payment_method", id=new_id("pm"), created=emu.clock.now(), metadata={}, livemode=False
    )
    details = payment_method["card"]
    details.update(brand=card.brand, display_brand=card.brand, last4=card.last4)
    details["networks"] = {"available": [card.brand], "preferred": None}
    return payment_method
