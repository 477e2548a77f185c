"""The emulator in tests: a real HTTP server on a free loopback port, with control helpers.

with EmulatorServer() as emulator:
    client = emulator.stripe_client()
    ...
    emulator.control("accounts/acct_123/verify")
    emulator.reset()
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx
import stripe
import uvicorn
from starlette.types import ASGIApp

from stripe_emulator.api import hide_dropped_responses
from stripe_emulator.app import create_app
from stripe_emulator.settings import EmulatorSettings

_STARTUP_TIMEOUT_SECONDS = 10.0
_POLL_SECONDS = 0.01


class EmulatorControlError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"Emulator control call failed with {status}: {body}")
        self.status = status
        self.body = body


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread, with its own event loop."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self._app = app
        self._host = host
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        # IPPROTO_TCP explicitly: asyncio only disables Nagle (TCP_NODELAY) on such sockets.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self._host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="on", loop="asyncio"
        )
        hide_dropped_responses()
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The server on port {self.port} did not start")
            time.sleep(_POLL_SECONDS)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_STARTUP_TIMEOUT_SECONDS)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class EmulatorServer:
    """The Stripe emulator under uvicorn, and sync helpers calling its `/_emulator` controls."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.app = create_app(self.settings)
        self._server = BackgroundServer(self.app)
        self._http = httpx.Client(timeout=30)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.stop()
        self._http.close()

    def stripe_client(
        self,
        http_client: stripe.HTTPClient | None = None,
        api_key: str | None = None,
        **options: Any,
    ) -> stripe.StripeClient:
        """A real SDK client talking to this emulator; `options` go to StripeClient."""
        return stripe.StripeClient(
            api_key or self.settings.api_key,
            http_client=http_client or stripe.HTTPXClient(),
            base_addresses={"api": self.base_url},
            **options,
        )

    def control(self, path: str, **body: Any) -> Any:
        """POST a JSON body to `/_emulator/{path}` and return the JSON answer."""
        return _answer(self._http.post(self._url(path), json=body))

    def inspect(self, path: str, **query: Any) -> Any:
        """GET `/_emulator/{path}` and return the JSON answer."""
        return _answer(self._http.get(self._url(path), params=query))

    async def control_async(self, path: str, **body: Any) -> Any:
        async with _async_http() as http:
            return _answer(await http.post(self._url(path), json=body))

    async def inspect_async(self, path: str, **query: Any) -> Any:
        async with _async_http() as http:
            return _answer(await http.get(self._url(path), params=query))

    async def clear_faults_async(self) -> None:
        """Forget the faults not used yet."""
        async with _async_http() as http:
            _answer(await http.delete(self._url("faults")))

    def reset(self) -> None:
        self.control("reset")

    def stored(self, object_id: str) -> dict[str, Any]:
        """The stored object itself (a balance transaction, a transfer, ...), to alter in place:
        how a test makes Stripe hold what no request can, such as a transfer one cent larger than
        the service asked for. A balance is derived from its balance transactions, so altering
        one's `amount` and `net` moves the balance with it."""
        found = self.app.emulator.store.lookup(object_id)
        if found is None:
            raise KeyError(f"the emulator holds no {object_id}")
        return found

    def configure(self, **settings: Any) -> Any:
        return self.control("config", **settings)

    def settle_balances(self) -> Any:
        """Every pending balance transaction, on every account, available now."""
        return self.control("balance/settle")

    def advance_clock(self, seconds: int) -> Any:
        """Move the emulator's clock forward; Stripe's work due meanwhile happens."""
        return self.control("clock/advance", seconds=seconds)

    def inject_fault(self, path_prefix: str, **options: Any) -> Any:
        return self.control("faults", path_prefix=path_prefix, **options)

    def events(self, event_type: str | None = None, after: str | None = None) -> list[dict[str, Any]]:
        """Events newest first: of `event_type`, created after the event `after`, when given."""
        query = {name: value for name, value in (("type", event_type), ("after", after)) if value}
        events: list[dict[str, Any]] = self.inspect("events", **query)["data"]
        return events

    def deliveries(self, event_id: str | None = None) -> list[dict[str, Any]]:
        query = {"event_id": event_id} if event_id else {}
        deliveries: list[dict[str, Any]] = self.inspect("deliveries", **query)["data"]
        return deliveries

    def wait_for_deliveries(
        self,
        condition: Callable[[list[dict[str, Any]]], bool],
        timeout_seconds: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Poll the delivery log until `condition(log)` holds; blocks the calling thread."""
        deadline = time.monotonic() + timeout_seconds
        while not condition(deliveries := self.deliveries()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Deliveries never matched; log: {deliveries}")
            time.sleep(_POLL_SECONDS * 5)
        return deliveries

    async def wait_for_deliveries_async(
        self,
        condition: Callable[[list[dict[str, Any]]], bool],
        timeout_seconds: float = 5.0,
    ) -> list[dict[str, Any]]:
        """As wait_for_deliveries, without blocking the event loop (for in-loop receivers)."""
        deadline = time.monotonic() + timeout_seconds
        while not condition(deliveries := (await self.inspect_async("deliveries"))["data"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Deliveries never matched; log: {deliveries}")
            await asyncio.sleep(_POLL_SECONDS * 5)
        result: list[dict[str, Any]] = deliveries
        return result

    def _url(self, path: str) -> str:
        return f"{self.base_url}/_emulator/{path.lstrip('/')}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _async_http() -> httpx.AsyncClient:
    """A client for one control call (an async client belongs to one event loop, and callers
    run in several). The controls are plain HTTP, but a client builds its TLS context when
    made, which costs tens of milliseconds: they share one."""
    return httpx.AsyncClient(timeout=30, verify=_tls_context())


def _answer(response: httpx.Response) -> Any:
    if response.is_error:
        is_json = response.headers.get("content-type", "").startswith("application/json")
        raise EmulatorControlError(response.status_code, response.json() if is_json else response.text)
    return response.json()
