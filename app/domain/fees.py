"""The platform fee: the one place it is computed."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.money import InvalidMoney, Money

BPS_DENOMINATOR = 10_000


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    bps: int
    fixed: int

    def __post_init__(self) -> None:
        if not 0 <= self.bps <= BPS_DENOMINATOR or self.fixed < 0:
            raise ValueError("fee bps must be within 0..10000 and the fixed fee non-negative")


@dataclass(frozen=True, slots=True)
class FeeSplit:
    gross: Money
    fee: Money
    net: Money


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero, for non-negative operands."""
    return (2 * numerator + denominator) // (2 * denominator)


def split_fee(gross: Money, schedule: FeeSchedule) -> FeeSplit:
    """fee = round_half_up(gross * bps / 10000) + fixed, capped at gross; net = gross - fee."""
    if gross.amount < 0:
        raise InvalidMoney("a fee is computed on a non-negative amount")
    fee = round_half_up_div(gross.amount * schedule.bps, BPS_DENOMINATOR) + schedule.fixed
    fee = min(fee, gross.amount)
    return FeeSplit(
        gross=gross, fee=Money(fee, gross.currency), net=Money(gross.amount - fee, gross.currency)
    )
