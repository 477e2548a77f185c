"""Money: integer minor units and a lowercase ISO currency. No float ever."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import InvalidRequest

_CURRENCY = re.compile(r"^[a-z]{3}$")
# Stripe's upper bound for a single amount (eight digits in minor units for most currencies).
MAX_AMOUNT = 99_999_999


class InvalidMoney(InvalidRequest):
    code = "invalid_amount"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"


# Stripe's zero-decimal currencies: their amounts are already in the smallest unit.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places a major unit of `currency` has."""
    return 0 if validate_currency(currency) in ZERO_DECIMAL_CURRENCIES else 2


def is_currency_code(text: str) -> bool:
    """Whether `text` has the shape of a currency code: three lowercase letters."""
    return bool(_CURRENCY.match(text))


def validate_currency(currency: str) -> str:
    if not is_currency_code(currency):
        raise InvalidMoney(f"currency {currency!r} is not a lowercase three-letter ISO code")
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise InvalidMoney("amount must be an integer number of minor units")
        validate_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def as_dict(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}
