"""The Stripe endpoints the emulator serves (`/v1`) and its test controls (`/_emulator`)."""

from stripe_emulator.api import ApiRoute
from stripe_emulator.routes import accounts, balance, disputes, events, payments, refunds, transfers

API_ROUTES: list[ApiRoute] = [
    *accounts.ROUTES,
    *payments.ROUTES,
    *refunds.ROUTES,
    *transfers.ROUTES,
    *balance.ROUTES,
    *disputes.ROUTES,
    *events.ROUTES,
]
