"""Identifiers shaped like Stripe's."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_1{random_token(23)}"


def new_request_id() -> str:
    return f"req_{random_token(14)}"
