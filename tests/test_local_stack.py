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

from tests.mongo_server import free_port


@dataclass(frozen=True)
class LocalStack:
    home: Path
    api: str
    emulator: str


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the local stack exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("local-stack")
    ports = {"PORT": free_port(), "LOCAL_DB_PORT": free_port(), "LOCAL_STRIPE_EMULATOR_PORT": free_port()}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MONGODB_URI", "STRIPE_SECRET_KEY", "STRIPE_API_BASE"}
    }
    env.update({name: str(port) for name, port in ports.items()}, LOCAL_STACK_HOME=str(home))
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    api = f"http://127.0.0.1:{ports['PORT']}"
    try:
        wait_until_ready(f"{api}/readyz", process)
        yield LocalStack(home, api, f"http://127.0.0.1:{ports['LOCAL_STRIPE_EMULATOR_PORT']}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


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
