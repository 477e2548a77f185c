"""Stripe webhook deliveries: the signature check, and the event read into typed values.

Reading an event checks its envelope strictly (a body that is not a Stripe event is refused);
its object is read as the typed value of its type when the event is handled (intake reads the
envelope alone: it stores the payload as signed). An object the service does not model, or
cannot read as the type it names, arrives as an `UnknownObject`: the event is still stored,
and a handler that needs the object fails (and is retried) instead of the delivery being lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

import stripe
import structlog

from app.adapters.payment_provider import (
    EventEnvelope,
    EventObject,
    NormalizedEvent,
    UnknownObject,
    WebhookEvent,
)
from app.adapters.stripe_objects import (
    to_account,
    to_balance_transaction,
    to_charge,
    to_dispute,
    to_payment_intent,
    to_payout,
    to_refund,
    to_reversal,
    to_transfer,
)
from app.config import Settings
from app.domain.webhooks import (
    MAX_ACCOUNT_ID_LENGTH,
    MAX_CREATED,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    MAX_OBJECT_ID_LENGTH,
    InvalidSignature,
    MalformedEvent,
)
from app.strict_json import InvalidJson, is_int64, parse_json

log = structlog.get_logger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300

JsonObject = Mapping[str, Any]

_READERS: dict[str, Callable[[dict[str, Any]], EventObject]] = {
    "payment_intent": lambda data: to_payment_intent(stripe.PaymentIntent.construct_from(data, None)),
    "charge": lambda data: to_charge(stripe.Charge.construct_from(data, None)),
    "account": lambda data: to_account(stripe.Account.construct_from(data, None)),
    "transfer": lambda data: to_transfer(stripe.Transfer.construct_from(data, None)),
    "transfer_reversal": lambda data: to_reversal(stripe.TransferReversal.construct_from(data, None)),
    "refund": lambda data: to_refund(stripe.Refund.construct_from(data, None)),
    "dispute": lambda data: to_dispute(stripe.Dispute.construct_from(data, None)),
    "payout": lambda data: to_payout(stripe.Payout.construct_from(data, None)),
    "balance_transaction": lambda data: to_balance_transaction(
        stripe.BalanceTransaction.construct_from(data, None)
    ),
}


class StripeWebhookSignatures:
    """Checks a delivery against the platform and the Connect endpoint's signing secrets."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeWebhookSignatures:
        return cls(
            {
                "platform": settings.stripe_webhook_secret.get_secret_value(),
                "connect": settings.stripe_connect_webhook_secret.get_secret_value(),
            }
        )

    def verify(self, payload: str, header: str | None) -> str:
        """The name of the endpoint whose secret signed `payload`; raises `InvalidSignature`."""
        if not header:
            raise InvalidSignature("the Stripe-Signature header is missing")
        for endpoint, secret in self._secrets.items():
            try:
                stripe.WebhookSignature.verify_header(payload, header, secret, SIGNATURE_TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError:
                continue
            return endpoint
        raise InvalidSignature(
            "the Stripe-Signature header is malformed, does not match the platform or Connect "
            f"endpoint secret, or is older than {SIGNATURE_TOLERANCE_SECONDS} seconds"
        )


def read_envelope(payload: str) -> EventEnvelope:
    """The event in a verified webhook body, its object left unread; raises `MalformedEvent` if
    it is not one (see the bounds in `app.domain.webhooks`). What intake needs: it stores the
    payload, and the processor reads the object when it handles the event."""
    return _envelope(payload)[0]


def parse_event(payload: str) -> WebhookEvent:
    """The event in a verified webhook body with its object typed; raises `MalformedEvent` as
    `read_envelope` does."""
    envelope, data_object = _envelope(payload)
    return WebhookEvent(
        id=envelope.id,
        type=envelope.type,
        created=envelope.created,
        livemode=envelope.livemode,
        account=envelope.account,
        normalized=envelope.normalized,
        object=_read_object(envelope.id, data_object),
    )


def _envelope(payload: str) -> tuple[EventEnvelope, JsonObject]:
    """The checked envelope and the event's object as JSON, from one parse of the payload."""
    try:
        # The envelope is bounded below; the object's integers are Stripe's (`normalize` checks).
        body = parse_json(payload, int64_only=False)
    except InvalidJson as exc:
        raise MalformedEvent(str(exc)) from exc
    if not isinstance(body, Mapping) or body.get("object") != "event":
        raise MalformedEvent("the body is not a Stripe event object")
    event_id, event_type = body.get("id"), body.get("type")
    created, livemode = body.get("created"), body.get("livemode")
    account, data = body.get("account"), body.get("data")
    if not _bounded_string(event_id, MAX_EVENT_ID_LENGTH) or not event_id.startswith("evt_"):
        raise MalformedEvent(f"the event has no `evt_` id of at most {MAX_EVENT_ID_LENGTH} characters")
    if not _bounded_string(event_type, MAX_EVENT_TYPE_LENGTH) or not event_type:
        raise MalformedEvent(f"the event has no type of at most {MAX_EVENT_TYPE_LENGTH} characters")
    if type(created) is not int or not 0 <= created <= MAX_CREATED or not isinstance(livemode, bool):
        raise MalformedEvent("the event needs an integer `created` (a Unix time) and a boolean `livemode`")
    if account is not None and not _bounded_string(account, MAX_ACCOUNT_ID_LENGTH):
        raise MalformedEvent(f"the event's `account` must be a string of at most {MAX_ACCOUNT_ID_LENGTH}")
    if not isinstance(data, Mapping) or not isinstance(data_object := data.get("object"), Mapping):
        raise MalformedEvent("the event has no `data.object`")
    if (object_id := data_object.get("id")) is not None and not _bounded_string(
        object_id, MAX_OBJECT_ID_LENGTH
    ):
        raise MalformedEvent(f"`data.object.id` must be a string of at most {MAX_OBJECT_ID_LENGTH}")
    envelope = EventEnvelope(
        id=event_id,
        type=event_type,
        created=datetime.fromtimestamp(created, UTC),
        livemode=livemode,
        account=account,
        normalized=normalize(event_type, account, data_object),
    )
    return envelope, data_object


def _bounded_string(value: Any, max_length: int) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= max_length


def _read_object(event_id: str, data: JsonObject) -> EventObject:
    object_type, object_id = _string_or_none(data.get("object")), _string_or_none(data.get("id"))
    reader = _READERS.get(object_type or "")
    if reader is None:
        return UnknownObject(type=object_type, id=object_id)
    try:
        return reader(dict(data))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.warning("webhook_object_unreadable", event_id=event_id, object_type=object_type, error=str(exc))
        return UnknownObject(type=object_type, id=object_id)


def normalize(event_type: str, account: str | None, data_object: JsonObject) -> NormalizedEvent:
    amount, currency = data_object.get("amount"), data_object.get("currency")
    return NormalizedEvent(
        event_type=event_type,
        object_type=_string_or_none(data_object.get("object")),
        object_id=_string_or_none(data_object.get("id")),
        account=account,
        amount=amount if is_int64(amount) else None,
        currency=_string_or_none(currency),
        refs=our_refs(data_object.get("metadata")),
    )


def our_refs(metadata: Any) -> dict[str, str]:
    """Our own ids, which every Stripe object we create carries in metadata as `*_id`."""
    if not isinstance(metadata, Mapping):
        return {}
    return {
        key: value
        for key, value in metadata.items()
        if isinstance(key, str) and key.endswith("_id") and isinstance(value, str) and value
    }


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
