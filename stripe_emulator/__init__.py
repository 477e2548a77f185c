"""A Stripe API emulator for tests and local runs. Production code never imports it."""

from stripe_emulator.app import create_app
from stripe_emulator.settings import EmulatorSettings

__all__ = ["EmulatorSettings", "create_app"]
