"""The legacy wallet migration's rules: exact conversion of the legacy decimal balances (major
units) to minor units, and what a user's legacy wallet can be.

The legacy system stored balances as doubles or strings and added doubles together, so a value
may carry float noise (0.1 + 0.2 = 0.30000000000000004). Such a value is a whole number of cents
plus noise far below a cent, and is accepted as that number of cents, reported as normalized.
A real fraction of a cent (12.345) is not money we can represent and is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from bson.decimal128 import Decimal128

from app.domain.money import MAX_AMOUNT, minor_unit_exponent
from app.errors import ServiceError

# Noise from summing doubles stays many orders of magnitude below a cent; a real sub-cent
# amount (the smallest is a tenth of a cent) is far above this.
FLOAT_NOISE_TOLERANCE = Decimal("0.000001")


class LegacyWalletStatus(StrEnum):
    NONE = "none"
    NOT_MIGRATED = "not_migrated"
    MIGRATED = "migrated"
    # Shown, never stored: the legacy balance cannot be converted until an operator fixes it.
    INVALID = "invalid"


def migration_entry_key(user_id: str) -> str:
    return f"migration:{user_id}"


def late_migration_entry_key(user_id: str, number: int) -> str:
    """The `number`-th amount the legacy system credited to a wallet after it was migrated."""
    return f"migration:{user_id}:late:{number}"


class InvalidLegacyBalance(ServiceError):
    code = "invalid_legacy_balance"
    status = 422
    title = "The legacy wallet balance cannot be converted"


@dataclass(frozen=True, slots=True)
class LegacyAmount:
    minor_units: int
    normalized: bool


def _as_decimal(value: Any) -> Decimal:
    if value is None:
        raise InvalidLegacyBalance("the legacy balance is missing")
    if isinstance(value, bool):
        raise InvalidLegacyBalance(f"the legacy balance {value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidLegacyBalance(f"the legacy balance {value!r} is not a finite number")
        return Decimal(repr(value))  # the shortest repr is the decimal the legacy system meant
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, int | Decimal):
        decimal = Decimal(value)
    elif isinstance(value, str):
        try:
            decimal = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InvalidLegacyBalance(f"the legacy balance {value!r} is not a number") from exc
    else:
        raise InvalidLegacyBalance(f"the legacy balance has an unsupported type {type(value).__name__}")
    if not decimal.is_finite():
        raise InvalidLegacyBalance(f"the legacy balance {value!r} is not a finite number")
    return decimal


def to_minor_units(value: Any, currency: str) -> LegacyAmount:
    """The legacy balance `value` (major units) as an exact integer of minor units."""
    scaled = _as_decimal(value).scaleb(minor_unit_exponent(currency))
    whole = scaled.to_integral_value()
    if scaled != whole and abs(scaled - whole) > FLOAT_NOISE_TOLERANCE:
        raise InvalidLegacyBalance(f"the legacy balance {value!r} has a fraction of the smallest unit")
    if whole < 0:
        raise InvalidLegacyBalance(f"the legacy balance {value!r} is negative")
    if whole > MAX_AMOUNT * 100:
        raise InvalidLegacyBalance(f"the legacy balance {value!r} is implausibly large")
    return LegacyAmount(minor_units=int(whole), normalized=scaled != whole)
