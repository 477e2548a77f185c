"""The emulator's whole state, shared by the API and the control endpoints."""

from __future__ import annotations

import dataclasses

from stripe_emulator.clock import Clock
from stripe_emulator.faults import FaultInjector
from stripe_emulator.idempotency import IdempotencyStore
from stripe_emulator.ids import new_id
from stripe_emulator.records import AccountLink, AccountState, PendingWork
from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.state import Store
from stripe_emulator.timers import Timers
from stripe_emulator.webhooks import WebhookDispatcher


class Emulator:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.config = dataclasses.replace(settings)
        """Settings as changed at runtime through the config endpoint; survives reset."""
        self.platform_account_id = new_id("acct")
        self.clock = Clock()
        self.store = Store()
        self.idempotency = IdempotencyStore()
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self.config)
        self.timers = Timers()
        self.pending = PendingWork()
        self.account_states: dict[str, AccountState] = {}
        self.account_links: dict[str, AccountLink] = {}
        self.bank_account_numbers: dict[str, str] = {}
        """Full account numbers of bank accounts (their objects show only the last four digits)."""

    def reset(self) -> None:
        self.timers.cancel_all()
        self.clock.reset()
        self.store.clear()
        self.idempotency.clear()
        self.faults.clear()
        self.webhooks.reset()
        self.pending.clear()
        self.account_states.clear()
        self.account_links.clear()
        self.bank_account_numbers.clear()
