"""Settings of the Stripe emulator."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class EmulatorSettings:
    # Test-mode placeholders, not secrets.
    api_key: str = "sk_test_emulator"
    webhook_secret: str = "whsec_platform_emulator"  # noqa: S105
    connect_webhook_secret: str = "whsec_connect_emulator"  # noqa: S105
    webhook_url: str | None = None
    delivery_max_attempts: int = 5
    delivery_backoff_seconds: float = 0.5

    @classmethod
    def from_env(cls) -> EmulatorSettings:
        defaults = cls()
        return cls(
            api_key=os.environ.get("STRIPE_SECRET_KEY", defaults.api_key),
            webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", defaults.webhook_secret),
            connect_webhook_secret=os.environ.get(
                "STRIPE_CONNECT_WEBHOOK_SECRET", defaults.connect_webhook_secret
            ),
            webhook_url=os.environ.get("EMULATOR_WEBHOOK_URL") or None,
        )
