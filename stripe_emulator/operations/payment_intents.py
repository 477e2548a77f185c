"""Payment intents on the platform: create, confirm with test cards, 3DS, cancel."""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id, random_token
from stripe_emulator.objects import JsonObject, from_fixture, merged_metadata, snapshot
from stripe_emulator.operations import charges, disputes
from stripe_emulator.operations.cards import (
    Decline,
    SimulatedCard,
    payment_method_from_data,
    resolve_payment_method,
)
from stripe_emulator.operations.settlement import record_card_charge

# Stripe's minimum charge amount per currency, in minor units ("Minimum and maximum charge
# amounts" of its currencies page). A currency not listed is held to one minor unit: Stripe's
# rule for it ("50 cents or equivalent") depends on the day's exchange rate.
MINIMUM_CHARGE = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
CANCELABLE = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
    "processing",
)
_AUTHENTICATION_FAILED = Decline(
    "payment_intent_authentication_failure",
    "authentication_required",
    "The provided PaymentMethod has failed authentication.",
)
_COMPLETION_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
# The fields of a PaymentIntent a publishable key sees, as marked "retrievable with publishable
# key" in Stripe's API reference for the PaymentIntent object: Stripe.js never sees the rest
# (metadata, customer, charges, transfer data...).
PUBLISHABLE_FIELDS = (
    "id",
    "object",
    "amount",
    "automatic_payment_methods",
    "canceled_at",
    "cancellation_reason",
    "capture_method",
    "client_secret",
    "confirmation_method",
    "created",
    "currency",
    "description",
    "last_payment_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_configuration_details",
    "payment_method_types",
    "processing",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "status",
)


def get_intent(emu: Emulator, intent_id: str) -> JsonObject:
    return emu.store.require("payment_intent", intent_id)


def retrieve(emu: Emulator, intent_id: str, params: dict[str, Any], *, publishable: bool) -> JsonObject:
    intent = get_intent(emu, intent_id)
    check_client_secret(intent, params, publishable=publishable)
    return publishable_view(intent) if publishable else intent


def check_client_secret(intent: JsonObject, params: dict[str, Any], *, publishable: bool) -> None:
    """A publishable key reaches an intent only with its client secret ("Required if you use a
    publishable key", Stripe's API reference for retrieving a PaymentIntent)."""
    if publishable and "client_secret" not in params:
        raise errors.missing_parameter("client_secret")
    if "client_secret" in params and params["client_secret"] != intent["client_secret"]:
        raise errors.client_secret_mismatch()


def publishable_view(intent: JsonObject) -> JsonObject:
    copy = snapshot(intent)
    return {name: copy[name] for name in PUBLISHABLE_FIELDS}


def new_intent(emu: Emulator, params: dict[str, Any], payment_method: JsonObject | None) -> JsonObject:
    """A PaymentIntent of the create parameters, not stored yet."""
    intent_id = new_id("pi")
    types = params.get("payment_method_types")
    return from_fixture(
        "payment_intent",
        id=intent_id,
        amount=params["amount"],
        amount_capturable=0,
        amount_received=0,
        application=None,
        application_fee_amount=None,
        automatic_payment_methods=None if types else {"allow_redirects": "always", "enabled": True},
        canceled_at=None,
        cancellation_reason=None,
        client_secret=f"{intent_id}_secret_{random_token(25)}",
        created=emu.clock.now(),
        currency=params["currency"],
        customer=params.get("customer"),
        description=params.get("description"),
        last_payment_error=None,
        latest_charge=None,
        livemode=False,
        managed_payments=None,
        metadata=merged_metadata({}, params.get("metadata")),
        next_action=None,
        payment_method=payment_method["id"] if payment_method else None,
        payment_method_configuration_details=None,
        payment_method_types=types or ["card"],
        processing=None,
        receipt_email=params.get("receipt_email"),
        shipping=None,
        statement_descriptor=params.get("statement_descriptor"),
        statement_descriptor_suffix=params.get("statement_descriptor_suffix"),
        status="requires_confirmation" if payment_method else "requires_payment_method",
        transfer_data=None,
        transfer_group=params.get("transfer_group"),
    )


def create(emu: Emulator, params: dict[str, Any], base_url: str) -> JsonObject:
    _refuse_unsupported(params)
    _check_amount(params["amount"], params["currency"])
    payment_method = None
    if "payment_method" in params:
        payment_method, _ = resolve_payment_method(emu, params["payment_method"])
    intent = emu.store.add(new_intent(emu, params, payment_method))
    intent_id = intent["id"]
    emit(emu, "payment_intent.created", intent)
    if params.get("confirm"):
        confirmation: dict[str, Any] = {
            name: params[name] for name in ("return_url", "use_stripe_sdk") if name in params
        }
        return confirm(emu, intent_id, confirmation, base_url)
    return intent


def confirm(emu: Emulator, intent_id: str, params: dict[str, Any], base_url: str) -> JsonObject:
    intent = get_intent(emu, intent_id)
    if intent["status"] not in CONFIRMABLE:
        raise errors.unexpected_state(
            f"This PaymentIntent's status is {intent['status']}, but it must be one of "
            f"{', '.join(CONFIRMABLE)} to be confirmed."
        )
    payment_method, card = _payment_method_for(emu, intent, params)
    intent["payment_method"] = payment_method["id"]
    if card.decline is not None:
        failed = _decline(emu, intent, payment_method, card.decline)
        raise errors.card_error(
            card.decline.code,
            card.decline.message,
            {
                "charge": failed["id"],
                "decline_code": card.decline.decline_code,
                "payment_intent": snapshot(intent),
                "payment_method": snapshot(payment_method),
            },
        )
    if card.requires_action:
        _require_action(emu, intent, _redirect_return_url(params), base_url)
    else:
        _succeed(emu, intent, payment_method, card)
    return intent


def _payment_method_for(
    emu: Emulator, intent: JsonObject, params: dict[str, Any]
) -> tuple[JsonObject, SimulatedCard]:
    if "payment_method_data" in params:
        return payment_method_from_data(emu, params["payment_method_data"])
    reference = params.get("payment_method") or intent["payment_method"]
    if not reference:
        raise errors.unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update the PaymentIntent with a payment method and then confirm it again."
        )
    return resolve_payment_method(emu, reference)


def _redirect_return_url(params: dict[str, Any]) -> str | None:
    """Where the customer returns after authenticating on a page: a confirmation with a
    `return_url` and without `use_stripe_sdk` gets a `redirect_to_url` next action."""
    if params.get("use_stripe_sdk"):
        return None
    return_url: str | None = params.get("return_url")
    return return_url


def cancel(emu: Emulator, intent_id: str, params: dict[str, Any]) -> JsonObject:
    intent = get_intent(emu, intent_id)
    if intent["status"] not in CANCELABLE:
        raise errors.unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
            f"be canceled: {', '.join(CANCELABLE)}."
        )
    intent.update(
        status="canceled",
        canceled_at=emu.clock.now(),
        cancellation_reason=params.get("cancellation_reason"),
        next_action=None,
    )
    emit(emu, "payment_intent.canceled", intent)
    return intent


def complete(emu: Emulator, intent_id: str) -> JsonObject:
    """Test control: the customer completes the payment (3DS passed, or paid by card)."""
    intent = get_intent(emu, intent_id)
    if intent["status"] not in (*CONFIRMABLE, "requires_action"):
        raise errors.unexpected_state(f"This PaymentIntent's status is {intent['status']}.")
    payment_method, card = resolve_payment_method(emu, intent["payment_method"] or "pm_card_visa")
    intent["payment_method"] = payment_method["id"]
    _succeed(emu, intent, payment_method, card)
    return intent


def fail(emu: Emulator, intent_id: str) -> JsonObject:
    """Test control: the customer's payment attempt fails (3DS failed, or card declined)."""
    intent = get_intent(emu, intent_id)
    if intent["status"] not in (*CONFIRMABLE, "requires_action"):
        raise errors.unexpected_state(f"This PaymentIntent's status is {intent['status']}.")
    reference = intent["payment_method"] or "pm_card_chargeDeclined"
    payment_method, _ = resolve_payment_method(emu, reference)
    requires_action = intent["status"] == "requires_action"
    _decline(
        emu,
        intent,
        payment_method,
        _AUTHENTICATION_FAILED if requires_action else _COMPLETION_DECLINE,
    )
    return intent


def _succeed(emu: Emulator, intent: JsonObject, payment_method: JsonObject, card: SimulatedCard) -> None:
    charge = charges.card_charge(intent, payment_method, emu.clock.now())
    record_card_charge(emu, charge)
    emu.store.add(charge)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    emit(emu, "charge.succeeded", charge)
    emit(emu, "payment_intent.succeeded", intent)
    if card.opens_dispute:
        disputes.open_dispute(emu, charge["id"], reason="fraudulent")


def _decline(emu: Emulator, intent: JsonObject, payment_method: JsonObject, decline: Decline) -> JsonObject:
    charge = emu.store.add(charges.declined_charge(intent, payment_method, decline, emu.clock.now()))
    intent.update(
        status="requires_payment_method",
        latest_charge=charge["id"],
        payment_method=None,
        next_action=None,
        last_payment_error={
            "charge": charge["id"],
            "code": decline.code,
            "decline_code": decline.decline_code,
            "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
            "message": decline.message,
            "payment_method": snapshot(payment_method),
            "type": "card_error",
        },
    )
    emit(emu, "charge.failed", charge)
    emit(emu, "payment_intent.payment_failed", intent)
    return charge


def _require_action(emu: Emulator, intent: JsonObject, return_url: str | None, base_url: str) -> None:
    if return_url is None:
        next_action: JsonObject = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": intent["payment_method"]},
        }
    else:
        next_action = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "url": f"{base_url}/_emulator/3ds/{intent['id']}",
                "return_url": return_url,
            },
        }
    intent.update(status="requires_action", next_action=next_action)
    emit(emu, "payment_intent.requires_action", intent)


def _refuse_unsupported(params: dict[str, Any]) -> None:
    if params.get("capture_method", "automatic") not in ("automatic", "automatic_async"):
        raise errors.unsupported("capture_method", "manual capture")
    for name in ("transfer_data", "application_fee_amount", "on_behalf_of"):
        if name in params:
            raise errors.unsupported(name, "destination charges")


def _check_amount(amount: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if amount < minimum:
        raise errors.invalid_request(
            f"Amount must be at least {minimum} {currency} in minor units",
            code="amount_too_small",
            param="amount",
        )
