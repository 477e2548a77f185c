"""Stripe's error responses: the exception the emulator raises and the bodies it answers."""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"


class StripeError(Exception):
    """An error answered to the client with Stripe's status code and error body."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        details: dict[str, Any] | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.details = details or {}
        self.should_retry = should_retry

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        error.update(self.details)
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}

    def headers(self) -> dict[str, str]:
        if self.should_retry is None:
            return {}
        return {"Stripe-Should-Retry": "true" if self.should_retry else "false"}


def invalid_request(message: str, *, code: str | None = None, param: str | None = None) -> StripeError:
    return StripeError(400, INVALID_REQUEST, message, code=code, param=param)


def unknown_parameter(param: str) -> StripeError:
    return invalid_request(f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def missing_parameter(param: str) -> StripeError:
    return invalid_request(f"Missing required param: {param}.", code="parameter_missing", param=param)


def invalid_integer(param: str, value: object) -> StripeError:
    return invalid_request(f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)


def no_such(object_type: str, object_id: str) -> StripeError:
    """An object named in the URL path does not exist: 404, `param` "id", as Stripe answers
    `GET /v1/transfers/tr_missing`."""
    return StripeError(
        404,
        INVALID_REQUEST,
        f"No such {object_type}: '{object_id}'",
        code="resource_missing",
        param="id",
    )


def no_such_param(object_type: str, object_id: str, param: str) -> StripeError:
    """An object named in a request parameter does not exist: Stripe answers 400 with the same
    code and the parameter's name (e.g. `No such destination: 'acct_x'`, `param: destination`),
    where a missing object in the path is a 404."""
    return StripeError(
        400,
        INVALID_REQUEST,
        f"No such {object_type}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        INVALID_REQUEST,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def unsupported(param: str, what: str) -> StripeError:
    return invalid_request(f"The Stripe emulator does not support {what}.", param=param)


def balance_insufficient(message: str) -> StripeError:
    return invalid_request(message, code="balance_insufficient")


def unexpected_state(message: str) -> StripeError:
    return invalid_request(message, code="payment_intent_unexpected_state")


def missing_api_key() -> StripeError:
    return StripeError(
        401,
        INVALID_REQUEST,
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.",
    )


def invalid_api_key(key: str) -> StripeError:
    redacted = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
    return StripeError(401, INVALID_REQUEST, f"Invalid API Key provided: {redacted}")


def publishable_key_not_allowed() -> StripeError:
    """A publishable key used where Stripe wants a secret key: 401, as the SDKs' AuthenticationError
    reports it ("This API call cannot be made with a publishable API key...")."""
    return StripeError(
        401,
        INVALID_REQUEST,
        "This API call cannot be made with a publishable API key. Please use a secret API key. "
        "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
    )


def client_secret_mismatch() -> StripeError:
    return invalid_request(
        "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        param="client_secret",
    )


def invalid_api_version(version: str) -> StripeError:
    """Stripe's answer to a `Stripe-Version` it does not know: 400 without a code."""
    return invalid_request(f"Invalid Stripe API version: {version}")


def unemulated_api_version(version: str, served: str) -> StripeError:
    return invalid_request(
        f"The Stripe emulator renders API version {served} only; {version} is a real Stripe API "
        "version whose object shapes it does not emulate."
    )


def cannot_expand(path: str, hint: str | None = None) -> StripeError:
    """Stripe's refusal of an `expand[]` path that names no expandable field: 400, no code."""
    message = f"This property cannot be expanded ({path})."
    if hint is not None:
        message += f" You may want to try expanding '{hint}' instead."
    return invalid_request(message)


def expansion_too_deep(path: str) -> StripeError:
    return invalid_request(
        f"You cannot expand more than 4 levels of a property. Property: {path}",
        code="property_expansion_max_depth",
    )


def account_invalid(account: str) -> StripeError:
    return StripeError(
        403,
        INVALID_REQUEST,
        f"The provided key does not have access to account '{account}' (or that account "
        "does not exist). Application access may have been revoked.",
        code="account_invalid",
    )


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        should_retry=False,
    )


def idempotency_key_in_use() -> StripeError:
    return StripeError(
        409,
        INVALID_REQUEST,
        "There is currently another in-progress request using this Idempotent Key (probably "
        "because of a timeout). Please try again later.",
        code="idempotency_key_in_use",
    )


def rate_limited() -> StripeError:
    return StripeError(
        429,
        INVALID_REQUEST,
        "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def lock_timeout() -> StripeError:
    return StripeError(
        429,
        INVALID_REQUEST,
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request. If you see this error frequently and are making multiple concurrent requests "
        "to a single object, make your requests serially or at a lower rate.",
        code="lock_timeout",
        should_retry=True,
    )


def api_error(status: int = 500) -> StripeError:
    return StripeError(
        status,
        "api_error",
        "An unknown error occurred while processing your request. Please try again.",
    )


def card_error(code: str, message: str, details: dict[str, Any]) -> StripeError:
    return StripeError(402, "card_error", message, code=code, details=details)
