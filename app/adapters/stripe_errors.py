"""Typed errors of the payment provider, and the one mapping from Stripe's exceptions to them."""

from __future__ import annotations

from typing import Any, ClassVar

import stripe

from app.errors import ServiceError

# Stripe answers 409 `idempotency_key_in_use` while another request with the same key is still
# running (here: the janitor re-driving an operation whose first attempt Stripe is still running).
# Nothing is saved under the key then, so the same request may be sent again
# (https://docs.stripe.com/api/idempotent_requests); the other request may still do the work.
# 409 is documented for that conflict alone, so every 409 is handled as it.
_CONFLICT_IN_FLIGHT = 409


class PaymentProviderError(ServiceError):
    code = "payment_provider_error"
    status = 502
    title = "The payment provider refused the request"
    # Whether the provider may have done the work anyway: such an operation stays pending.
    outcome_unknown: ClassVar[bool] = False

    def __init__(self, detail: str, *, stripe_code: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, stripe_code=stripe_code, **extensions)
        self.stripe_code = stripe_code


class CardDeclined(PaymentProviderError):
    code = "card_declined"
    status = 402
    title = "The card was declined"

    def __init__(self, detail: str, *, decline_code: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, decline_code=decline_code, **extensions)
        self.decline_code = decline_code


class StripeInvalidRequest(PaymentProviderError):
    code = "stripe_invalid_request"
    title = "The payment provider rejected the request's parameters"


class StripeIdempotencyConflict(PaymentProviderError):
    code = "stripe_idempotency_conflict"
    title = "An idempotency key was reused with different parameters"


class PaymentProviderMisconfigured(PaymentProviderError):
    code = "payment_provider_misconfigured"
    status = 500
    title = "The payment provider credentials are invalid"


class PaymentProviderRateLimited(PaymentProviderError):
    code = "payment_provider_rate_limited"
    status = 503
    title = "The payment provider is rate limiting requests"


class PaymentProviderUnavailable(PaymentProviderError):
    code = "payment_provider_unavailable"
    status = 503
    title = "The payment provider is temporarily unavailable"


class PaymentOutcomeUnknown(PaymentProviderError):
    code = "payment_outcome_unknown"
    status = 504
    title = "The payment provider did not answer; the outcome is not known yet"
    outcome_unknown = True


# What any provider call can raise; calls that confirm a card can also raise `CardDeclined`.
PROVIDER_ERRORS: tuple[type[PaymentProviderError], ...] = (
    PaymentProviderError,
    StripeInvalidRequest,
    StripeIdempotencyConflict,
    PaymentProviderMisconfigured,
    PaymentProviderRateLimited,
    PaymentProviderUnavailable,
    PaymentOutcomeUnknown,
)


def _stripe_status(error: stripe.StripeError) -> int:
    return error.http_status or 0


def stripe_code(error: stripe.StripeError) -> str | None:
    """Stripe's error code. The SDK sets `code` only on some exception classes (a 409 is a plain
    `APIError` without it); the error body always carries it."""
    if error.code:
        return error.code
    return error.error.code if error.error is not None else None


def should_retry(error: BaseException) -> bool:
    """Transient: connection failures, 409 in-flight, 429 and 5xx, unless Stripe says otherwise."""
    if not isinstance(error, stripe.StripeError):
        return False
    advice = (error.headers or {}).get("stripe-should-retry")
    if advice is not None:
        return advice == "true"
    if isinstance(error, stripe.APIConnectionError):
        return bool(error.should_retry)
    status = _stripe_status(error)
    return status in (_CONFLICT_IN_FLIGHT, 429) or status >= 500


def map_stripe_error(error: stripe.StripeError, *, changes_state: bool) -> PaymentProviderError:
    """Our typed error for a Stripe exception; `changes_state` is False for reads."""
    context: dict[str, Any] = {"stripe_code": stripe_code(error), "stripe_request_id": error.request_id}
    status = _stripe_status(error)
    if isinstance(error, stripe.CardError):
        decline = error.error.decline_code if error.error else None
        return CardDeclined(error.user_message or "The card was declined.", decline_code=decline, **context)
    if isinstance(error, stripe.IdempotencyError):
        return StripeIdempotencyConflict("An idempotency key was reused with other parameters.", **context)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return PaymentProviderMisconfigured("Stripe refused the configured API key.", **context)
    if isinstance(error, stripe.RateLimitError):
        return PaymentProviderRateLimited("Stripe is rate limiting requests; retry later.", **context)
    if status == _CONFLICT_IN_FLIGHT and changes_state:
        return PaymentOutcomeUnknown(
            "Another request with this idempotency key is still running at Stripe; "
            "the operation will be re-driven.",
            **context,
        )
    if isinstance(error, stripe.APIConnectionError) or status >= 500 or status == _CONFLICT_IN_FLIGHT:
        if changes_state:
            return PaymentOutcomeUnknown("Stripe did not answer; the operation will be re-driven.", **context)
        return PaymentProviderUnavailable("Stripe is temporarily unavailable; retry later.", **context)
    if isinstance(error, stripe.InvalidRequestError):
        param = getattr(error, "param", None)
        return StripeInvalidRequest(
            f"Stripe rejected the request: {error.code or 'invalid_request'}.", param=param, **context
        )
    return PaymentProviderError(f"Stripe refused the request ({type(error).__name__}).", **context)
