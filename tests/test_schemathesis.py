"""The OpenAPI document tells the truth: schemathesis, with every check, against the service under
uvicorn (a real SecantusDB, the Stripe emulator creating PaymentIntents and delivering webhooks),
every generated request sent once with a token of each role.

Seeded, so a run is repeatable; bounded here (part of `make test`), `make fuzz` runs it longer
(SCHEMATHESIS_MAX_EXAMPLES, SCHEMATHESIS_SEED).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
import schemathesis
import uvicorn
from pydantic import SecretStr
from pymongo import MongoClient
from requests.compat import json as requests_json
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NotSet
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext

from app.auth import Role, mint_token
from app.config import AuthSettings, Settings
from app.main import create_app, openapi_document
from tests.conftest import PLATFORM_WEBHOOK_SECRET, TEST_JWT_SECRET, make_settings
from tests.mongo_server import free_port
from tests.stripe_events import signature_header

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20260901"))
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
ROLES = (Role.BUYER, Role.SELLER, Role.ADMIN, Role.SUPPORT)
WEBHOOK_PATH = "/webhooks/stripe"


class ServiceThread:
    """The service under uvicorn in a thread of its own, with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, name="schemathesis-service", daemon=True)

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            assert self._thread.is_alive(), "the service stopped while starting"
            assert time.monotonic() < deadline, "the service did not start within 30 seconds"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def service_settings(mongodb_uri: str, stripe_emulator: EmulatorServer) -> Settings:
    return make_settings(mongodb_uri, stripe_api_base=stripe_emulator.base_url, webhook_poll_seconds=0.2)


@pytest.fixture(scope="module")
def service(service_settings: Settings, stripe_emulator: EmulatorServer) -> Iterator[ServiceThread]:
    stripe_emulator.reset()
    with ServiceThread(service_settings) as running:
        stripe_emulator.configure(webhook_url=f"{running.url}{WEBHOOK_PATH}")
        try:
            yield running
        finally:
            stripe_emulator.configure(webhook_url=None)
    with MongoClient(service_settings.mongodb_uri) as client:
        client.drop_database(service_settings.mongodb_database)


# A token of each role, signed with the key of the service's settings (`make_settings`).
TOKENS = {
    role: mint_token(
        AuthSettings(_env_file=None, jwt_secret=SecretStr(TEST_JWT_SECRET)), f"schemathesis-{role}", [role]
    )
    for role in ROLES
}


def roles_id(roles: tuple[Role, ...]) -> str:
    return "+".join(roles)


# The committed document (what the frontend generates its client from), as the app generates it.
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    # The Authorization header is given, so it is not generated (nor left out as a negative case);
    # each request is then sent with the token of each role in turn.
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {"enabled": True},
            "headers": {"Authorization": f"Bearer {TOKENS[Role.BUYER]}"},
        }
    ),
)


# The roles are a parameter, not only a loop, so each operation's test has an id of its own
# (`…[GET /wallet][buyer+seller+admin+support]`): pytest 9.2 builds ids from parameters alone.
@schema.parametrize()
@pytest.mark.parametrize("roles", [ROLES], ids=roles_id)
def test_the_service_answers_as_its_document_says(
    case: Case, roles: tuple[Role, ...], service: ServiceThread
) -> None:
    if case.path == WEBHOOK_PATH:
        sign_as_stripe(case)
    if not case.operation.security:
        case.call_and_validate(base_url=service.url)
        return
    for role in roles:
        case.call_and_validate(base_url=service.url, headers={"Authorization": f"Bearer {TOKENS[role]}"})


# Evidence files are sent as their own media type; schemathesis knows images but not PDF, which is
# sent as the raw bytes generated for a binary string, like any other file.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")


@schema.hook
def map_body(context: HookContext, body: Any) -> Any:
    """Send whole numbers as JSON integers (`2660`, not `2660.0`).

    JSON Schema counts `2660.0` as an integer, so the generator sends it as a valid amount; the API
    refuses it, as the field's description says (money is a JSON integer literal, never a float),
    and `tests/routers/test_bad_requests.py` proves that refusal.
    """
    return _whole_numbers_as_integers(body)


@schema.hook
def filter_body(context: HookContext, body: Any) -> bool:
    """An adjustment moves money between two different accounts, which JSON Schema cannot say:
    one from an account to itself is refused (`422 invalid_adjustment`), and
    `tests/routers/reconciliation/test_reconciliation_api.py` proves that refusal."""
    adjustment = body.get("adjustment") if isinstance(body, dict) else None
    return not (
        isinstance(adjustment, dict) and adjustment.get("from_account") == adjustment.get("to_account")
    )


def _whole_numbers_as_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_integers(item) for item in value]
    return value


def sign_as_stripe(case: Case) -> None:
    """Sign the text requests will send, as Stripe would. No or an empty signature, and a body
    that is not text (which Stripe cannot have signed), are sent as generated, to be refused."""
    if not (case.headers or {}).get("Stripe-Signature") or isinstance(case.body, NotSet | bytes):
        return
    payload = "null" if case.body is None else requests_json.dumps(case.body, allow_nan=False)
    case.headers["Stripe-Signature"] = signature_header(payload, PLATFORM_WEBHOOK_SECRET)


def test_the_service_is_up(service: ServiceThread) -> None:
    assert requests.get(f"{service.url}/readyz", timeout=5).status_code == 200
