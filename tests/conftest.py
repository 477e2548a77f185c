from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from app.config import Settings
from app.db import Database, connect, ensure_indexes
from app.services.ledger import Ledger
from tests.mongo_server import secantus_server

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    with secantus_server() as uri:
        yield uri


@pytest.fixture
def settings(mongodb_uri: str) -> Settings:
    return Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=f"test_{uuid.uuid4().hex[:12]}",
        stripe_secret_key="sk_test_emulator",
        stripe_webhook_secret="whsec_platform_emulator",
        stripe_connect_webhook_secret="whsec_connect_emulator",
        jwt_secret=TEST_JWT_SECRET,
    )


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
