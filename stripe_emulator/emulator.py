"""The emulator's whole state, shared by the API and the control endpoints."""

from __future__ import annotations

import dataclasses

from stripe_emulator.faults import FaultInjector
from stripe_emulator.idempotency import IdempotencyStore
from stripe_emulator.ids import new_id
from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.state import Store
from stripe_emulator.webhooks import WebhookDispatcher


class Emulator:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.config = dataclasses.replace(settings)
        """Settings as changed at runtime through the config endpoint; survives reset."""
        self.platform_account_id = new_id("acct")
        self.store = Store()
        self.idempotency = IdempotencyStore()
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self.config)
        self.onboarding_return_urls: dict[str, str] = {}

    def reset(self) -> None:
        self.store.clear()
        self.idempotency.clear()
        self.faults.clear()
        self.webhooks.reset()
        self.onboarding_return_urls.clear()
