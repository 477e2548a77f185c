"""`make run`'s stack: SecantusDB, the Stripe emulator and the service, wired to each other.

Started as `make run` starts it (python -m local_stack), in a temporary home and on free ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from tests.local_stack_support import free_ports, start_local_stack


@dataclass(frozen=True)
class LocalStack:
    home: Path
    api: str
    emulator: str
    database: str


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("local-stack")
    ports = free_ports()
    stack = start_local_stack(home, ports)
    try:
        stack.wait_for_banner()
        yield LocalStack(
            home,
            api=f"http://127.0.0.1:{ports['PORT']}",
            emulator=f"http://127.0.0.1:{ports['LOCAL_STRIPE_EMULATOR_PORT']}",
            database=f"mongodb://127.0.0.1:{ports['LOCAL_DB_PORT']}/?directConnection=true",
        )
    finally:
        stack.process.send_signal(signal.SIGTERM)
        stack.finish()


def token_for(stack: LocalStack, user: str, role: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", "token", "--user", user, "--role", role],
        cwd=stack.home,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


def test_when_the_banner_shows_every_component_answers(local_stack: LocalStack) -> None:
    assert httpx.get(f"{local_stack.api}/readyz").json() == {"status": "ready"}
    config = httpx.get(f"{local_stack.emulator}/_emulator/config").json()
    assert config["webhook_url"] == f"{local_stack.api}/webhooks/stripe"
    client: MongoClient[dict[str, object]]
    with MongoClient(local_stack.database, serverSelectionTimeoutMS=2000) as client:
        assert "secantus" in client.admin.command("serverStatus")
        assert client.payments.users.count_documents({}) > 0, "the demo data is seeded"


def test_make_run_serves_demo_data_and_secrets_stay_out_of_git(local_stack: LocalStack) -> None:
    env_file = (local_stack.home / ".env").read_text()
    assert "JWT_SECRET=" in env_file
    assert "STRIPE_API_BASE=http://127.0.0.1:" in env_file
    assert (local_stack.home / "var" / "db").is_dir()
    assert httpx.get(f"{local_stack.api}/docs").status_code == 200


def test_the_service_pays_through_the_emulator_and_hears_its_webhooks(local_stack: LocalStack) -> None:
    headers = {"Authorization": f"Bearer {token_for(local_stack, 'buyer_demo', 'buyer')}"}
    topup = httpx.post(
        f"{local_stack.api}/wallet/topup_request",
        json={"amount": 1000, "currency": "usd"},
        headers={**headers, "Idempotency-Key": "local-stack-topup"},
        timeout=30,
    )
    assert topup.status_code == 201, topup.text
    intent = topup.json()["payment_intent_id"]

    confirmed = httpx.post(
        f"{local_stack.emulator}/v1/payment_intents/{intent}/confirm",
        data={"payment_method": "pm_card_visa"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=30,
    )
    assert confirmed.json()["status"] == "succeeded"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        wallet = httpx.get(f"{local_stack.api}/wallet", headers=headers, timeout=10).json()
        if wallet["platform_balance"] == 1000:
            return
        time.sleep(0.2)
    raise AssertionError(f"the top-up was not credited: {wallet}")
