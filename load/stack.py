"""What a load run drives, each part a process of its own on a free port: SecantusDB, the Stripe
emulator (delivering webhooks with duplicates and out of order, as Stripe may) and the service
under uvicorn with two worker processes (`python -m app serve --workers 2`, the production
command). Every process started here is stopped on the way out, with whatever it started itself
(its whole process group), whatever happened meanwhile."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from app.config import Settings
from tests.conftest import (
    CONNECT_WEBHOOK_SECRET,
    PLATFORM_WEBHOOK_SECRET,
    STRIPE_PUBLISHABLE_TEST_KEY,
    STRIPE_TEST_KEY,
    TEST_JWT_SECRET,
)
from tests.mongo_server import free_port, secantus_server

HOST = "127.0.0.1"
API_WORKERS = 2
# Share of events the emulator sends twice, and how many queued events it sends at once, shuffled.
DUPLICATE_RATE = 0.2
REORDER_WINDOW = 8
START_SECONDS = 60.0
STOP_SECONDS = 10.0


class StackError(RuntimeError):
    """A process of the stack did not start or ended early."""


@dataclass(frozen=True)
class Stack:
    api_url: str
    emulator_url: str
    # The service's settings, as its processes read them from their environment.
    settings: Settings
    logs: Path


def service_settings(mongodb_uri: str, emulator_url: str) -> dict[str, str]:
    """The service's environment: its own database, the emulator as Stripe, quiet logs, and a
    failed webhook event due again after a second (the run waits for every event to settle)."""
    return {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": f"load_{uuid.uuid4().hex[:12]}",
        "STRIPE_SECRET_KEY": STRIPE_TEST_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_TEST_KEY,
        "STRIPE_API_BASE": emulator_url,
        "STRIPE_WEBHOOK_SECRET": PLATFORM_WEBHOOK_SECRET,
        "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
        "JWT_SECRET": TEST_JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_RETRY_MAX_SECONDS": "4",
        "WEBHOOK_POLL_SECONDS": "0.2",
    }


def emulator_settings(api_url: str) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": STRIPE_TEST_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_TEST_KEY,
        "STRIPE_WEBHOOK_SECRET": PLATFORM_WEBHOOK_SECRET,
        "STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
        "EMULATOR_WEBHOOK_URL": f"{api_url}/webhooks/stripe",
        "EMULATOR_DELIVERY_DUPLICATE_RATE": str(DUPLICATE_RATE),
        "EMULATOR_DELIVERY_REORDER_WINDOW": str(REORDER_WINDOW),
        # Stripe's asynchronous work (a charge's fee, a refund's outcome) a second later, as at Stripe.
        "EMULATOR_PROCESSING_DELAY_SECONDS": "1",
    }


@contextlib.contextmanager
def running_stack(
    mongodb_uri: str | None = None, overrides: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """The stack up and answering; `mongodb_uri` instead of a SecantusDB of its own, `overrides`
    on top of the service's settings (a benchmark turns its background work off)."""
    with contextlib.ExitStack() as stack:
        uri = mongodb_uri or stack.enter_context(secantus_server())
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        api_url = f"http://{HOST}:{free_port()}"
        emulator_port = free_port()
        emulator_url = f"http://{HOST}:{emulator_port}"
        service = {**service_settings(uri, emulator_url), **(overrides or {})}
        emulator = stack.enter_context(
            _process(
                [sys.executable, "-m", "stripe_emulator", "--host", HOST, "--port", str(emulator_port)],
                emulator_settings(api_url),
                home / "stripe-emulator.log",
            )
        )
        # The emulator started here, not another on a port taken meanwhile: it delivers to our API.
        ours = emulator_settings(api_url)["EMULATOR_WEBHOOK_URL"]
        _wait_until(
            emulator,
            f"{emulator_url}/_emulator/config",
            home / "stripe-emulator.log",
            lambda answer: answer.json().get("webhook_url") == ours,
        )
        api_port = api_url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "app", "serve", "--host", HOST, "--port", api_port]
        api = stack.enter_context(
            _process([*command, "--workers", str(API_WORKERS)], service, home / "api.log")
        )
        _wait_until(api, f"{api_url}/readyz", home / "api.log", lambda answer: True)
        settings = Settings(_env_file=None, **{name.lower(): value for name, value in service.items()})  # type: ignore[arg-type]
        yield Stack(api_url, emulator_url, settings, home)


@contextlib.contextmanager
def _process(command: list[str], settings: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in a process group of its own (uvicorn's workers join it), in an empty directory
    (no `.env` of the checkout is read), its output in `log`; the group stopped afterwards."""
    output: IO[bytes]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **settings},
            cwd=log.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn then stops its workers), then SIGKILL to whatever of the group is left."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_until(
    process: subprocess.Popen[bytes], url: str, log: Path, is_ours: Callable[[httpx.Response], bool]
) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{log.stem} ended with {process.returncode}; its log ends with:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200 and is_ours(answer):
                return
        time.sleep(0.1)
    raise StackError(
        f"{url} did not answer within {START_SECONDS:.0f} s; {log.name} ends with:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
