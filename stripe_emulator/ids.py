"""Identifiers shaped like Stripe's, and the emulator's clock."""

import secrets
import string
import time

DAY_SECONDS = 86_400

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_1{random_token(23)}"


def new_request_id() -> str:
    return f"req_{random_token(14)}"


def now() -> int:
    return int(time.time())
