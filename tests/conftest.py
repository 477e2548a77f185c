"""Shared fixtures: a SecantusDB server and a Stripe emulator per test session, a fresh
database per test, the application with its lifespan, and tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings

from app.auth import Role, mint_token
from app.config import Settings
from app.container import ensure_indexes
from app.db import Database, connect
from app.main import create_app, openapi_document
from app.services.ledger import Ledger
from tests.command_log import COMMANDS, CommandLog
from tests.mongo_server import free_port, secantus_server
from tests.problem_contract import answered_problems, undocumented_problems

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PLATFORM_WEBHOOK_SECRET = "whsec_platform_emulator"
CONNECT_WEBHOOK_SECRET = "whsec_connect_emulator"
STRIPE_TEST_KEY = "sk_test_emulator"
STRIPE_PUBLISHABLE_TEST_KEY = "pk_test_emulator"

TokenFactory = Callable[..., str]

# Properties are checked for what they prove, not for how fast an example runs: on a shared
# machine a slow example is load, not a bug (speed lives in bench/).
hypothesis_settings.register_profile("shared-machine", deadline=None)
hypothesis_settings.load_profile("shared-machine")


@pytest.fixture(scope="session", autouse=True)
def problems_stay_documented() -> Iterator[None]:
    """After the session's last test: every problem a route answered is in its document."""
    yield
    undocumented = undocumented_problems(answered_problems(), openapi_document())
    assert not undocumented, (
        "routes answered problems their OpenAPI document does not list; declare the errors with "
        "@raises on the route (or its dependency) and run `make openapi`:\n  " + "\n  ".join(undocumented)
    )


@pytest.fixture(scope="session", autouse=True)
def transactions_stay_portable_to_mongodb() -> Iterator[None]:
    """After the session's last test: no transaction sent what MongoDB refuses in one (SecantusDB,
    the tests' server, accepts some of it)."""
    yield
    refused = COMMANDS.refused_by_mongodb_in_transactions
    assert not refused, "MongoDB refuses these inside a transaction: " + "; ".join(sorted(set(refused)))


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    with secantus_server() as uri:
        yield uri


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[EmulatorServer]:
    from stripe_emulator.settings import EmulatorSettings
    from stripe_emulator.testing import EmulatorServer

    emulator_settings = EmulatorSettings(
        api_key=STRIPE_TEST_KEY,
        publishable_key=STRIPE_PUBLISHABLE_TEST_KEY,
        webhook_secret=PLATFORM_WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        delivery_backoff_seconds=0.05,
    )
    with EmulatorServer(emulator_settings) as server:
        yield server


@pytest.fixture
def emulator(stripe_emulator: EmulatorServer) -> EmulatorServer:
    """The session's emulator, emptied for this test."""
    stripe_emulator.reset()
    return stripe_emulator


def make_settings(mongodb_uri: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "mongodb_uri": mongodb_uri,
        "mongodb_database": f"test_{uuid.uuid4().hex[:12]}",
        "stripe_secret_key": STRIPE_TEST_KEY,
        "stripe_publishable_key": STRIPE_PUBLISHABLE_TEST_KEY,
        # Unreachable unless a test asks for the emulator: no test may talk to real Stripe.
        "stripe_api_base": "http://127.0.0.1:9",
        "stripe_webhook_secret": PLATFORM_WEBHOOK_SECRET,
        "stripe_connect_webhook_secret": CONNECT_WEBHOOK_SECRET,
        "jwt_secret": TEST_JWT_SECRET,
        "log_level": "WARNING",
        # Periodic jobs run only where a test asks for them, so they cannot interfere elsewhere.
        "jobs_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def command_log() -> CommandLog:
    """The MongoDB commands of a test's database (registered at import, before any client)."""
    return COMMANDS


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    return make_settings(mongodb_uri)


@pytest.fixture
def emulator_settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    """Settings whose Stripe is the emulator; use instead of `settings` where Stripe is called."""
    return make_settings(mongodb_uri, stripe_api_base=emulator.base_url)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    await ensure_indexes(database)
    try:
        yield database
    finally:
        await database.client.drop_database(settings.mongodb_database)
        await database.close()


@pytest.fixture
def ledger(database: Database) -> Ledger:
    return Ledger(database)


async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    await database.client.drop_database(settings.mongodb_database)
    await database.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async for running in running_app(settings):
        yield running


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def token(settings: Settings) -> TokenFactory:
    """`token("u1", Role.BUYER)` → a valid Bearer token for that user and roles."""

    def make(user_id: str, *roles: Role) -> str:
        return mint_token(settings, user_id, list(roles))

    return make


@pytest.fixture
def live_settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    """Settings for `live_service`: Stripe is the emulator, the worker polls often."""
    return make_settings(mongodb_uri, stripe_api_base=emulator.base_url, webhook_poll_seconds=0.05)


@pytest.fixture
def service_port() -> int:
    """The port `live_service` listens on, known before it starts (settings may name it)."""
    return free_port()


@pytest.fixture
async def live_service(settings: Settings, emulator: EmulatorServer, service_port: int) -> AsyncIterator[str]:
    """The service under uvicorn in this event loop, webhook worker included, as the emulator's
    webhook target; yields its base URL. Modules using it set `settings` to `live_settings`."""
    port = service_port
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the service did not start"
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    await emulator.control_async("config", webhook_url=f"{url}/webhooks/stripe")
    try:
        yield url
    finally:
        await emulator.control_async("config", webhook_url=None)
        server.should_exit = True
        await serving


async def eventually_found(database: Database, collection: str, query: dict[str, Any]) -> dict[str, Any]:
    """Background work (webhook processing) lands in MongoDB eventually: poll for up to ten seconds."""
    for _ in range(200):
        document = await database[collection].find_one(query)
        if document is not None:
            return document
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing in {collection} matched {query}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
