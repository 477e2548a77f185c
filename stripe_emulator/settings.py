"""Settings of the Stripe emulator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

Settlement = Literal["deferred", "immediate"]
SETTLEMENTS: tuple[str, ...] = get_args(Settlement)


@dataclass
class EmulatorSettings:
    # Test-mode placeholders, not secrets.
    api_key: str = "sk_test_emulator"
    publishable_key: str = "pk_test_emulator"
    webhook_secret: str = "whsec_platform_emulator"  # noqa: S105
    connect_webhook_secret: str = "whsec_connect_emulator"  # noqa: S105
    webhook_url: str | None = None
    delivery_max_attempts: int = 5
    delivery_backoff_seconds: float = 0.5
    delivery_duplicate_rate: float = 0.0
    """Share of events delivered twice, as Stripe may (0 to 1)."""
    delivery_reorder_window: int = 1
    """Up to this many queued events are delivered at once, in random order (1: one at a time, in
    creation order), as Stripe, which promises no order."""
    settlement: Settlement = "deferred"
    """`deferred`: a card charge's balance transaction is null at `payment_intent.succeeded` and
    arrives later with `charge.updated`, as at Stripe since 2024; `immediate`: it is set at once."""
    processing_delay_seconds: float | None = 1.0
    """How long Stripe's asynchronous work takes: a deferred charge's balance transaction and a
    pending refund's outcome. None: only when the clock is advanced or a control finishes it."""

    @classmethod
    def from_env(cls) -> EmulatorSettings:
        defaults = cls()
        delay = os.environ.get("EMULATOR_PROCESSING_DELAY_SECONDS")
        return cls(
            api_key=os.environ.get("STRIPE_SECRET_KEY", defaults.api_key),
            publishable_key=os.environ.get("STRIPE_PUBLISHABLE_KEY", defaults.publishable_key),
            webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", defaults.webhook_secret),
            connect_webhook_secret=os.environ.get(
                "STRIPE_CONNECT_WEBHOOK_SECRET", defaults.connect_webhook_secret
            ),
            webhook_url=os.environ.get("EMULATOR_WEBHOOK_URL") or None,
            delivery_duplicate_rate=duplicate_rate(
                os.environ.get("EMULATOR_DELIVERY_DUPLICATE_RATE", str(defaults.delivery_duplicate_rate))
            ),
            delivery_reorder_window=reorder_window(
                os.environ.get("EMULATOR_DELIVERY_REORDER_WINDOW", str(defaults.delivery_reorder_window))
            ),
            settlement=settlement_named(os.environ.get("EMULATOR_SETTLEMENT", defaults.settlement)),
            processing_delay_seconds=defaults.processing_delay_seconds
            if delay is None
            else optional_seconds(delay),
        )


def settlement_named(name: str) -> Settlement:
    if name == "deferred":
        return "deferred"
    if name == "immediate":
        return "immediate"
    raise ValueError(f"settlement must be one of {', '.join(SETTLEMENTS)}, not {name!r}")


def optional_seconds(text: str) -> float | None:
    """A delay from the environment: a number of seconds, or `none` for no timer."""
    if text.strip().lower() == "none":
        return None
    seconds = float(text)
    if seconds < 0:
        raise ValueError(f"a delay cannot be negative: {text!r}")
    return seconds


def duplicate_rate(text: str) -> float:
    rate = float(text)
    if not 0 <= rate <= 1:
        raise ValueError(f"a duplicate rate is between 0 and 1, not {text!r}")
    return rate


def reorder_window(text: str) -> int:
    window = int(text)
    if window < 1:
        raise ValueError(f"a reorder window is at least 1, not {text!r}")
    return window
