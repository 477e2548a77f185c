"""The emulator's ASGI app: Stripe's API under `/v1`, test controls under `/_emulator`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_emulator.api import ApiApp
from stripe_emulator.emulator import Emulator
from stripe_emulator.routes import API_ROUTES, controls, harness, pages
from stripe_emulator.settings import EmulatorSettings


class EmulatorApp:
    """Sends `/v1` requests to the Stripe API and everything else to the control app."""

    def __init__(self, api: ASGIApp, control: ASGIApp, emulator: Emulator) -> None:
        self._api = api
        self._control = control
        # The state behind both, for a test that must make Stripe hold what no request can
        # (`EmulatorServer.stored`).
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            await self._api(scope, receive, send)
        else:
            await self._control(scope, receive, send)


def create_app(settings: EmulatorSettings) -> EmulatorApp:
    emulator = Emulator(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        emulator.timers.cancel_all()
        await emulator.webhooks.close()

    api = ApiApp(emulator, API_ROUTES)
    control = Starlette(routes=[*harness.ROUTES, *controls.ROUTES, *pages.ROUTES], lifespan=lifespan)
    control.state.emulator = emulator
    control.state.api = api
    return EmulatorApp(api, control, emulator)
