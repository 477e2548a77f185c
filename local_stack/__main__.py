"""`make run`: start what the service needs locally, seed demo data, then run the service.

Anything already configured in the environment is used as it is: an exported MONGODB_URI means
no embedded database; an exported STRIPE_SECRET_KEY without STRIPE_API_BASE means real Stripe.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pymongo import MongoClient

# Where the local state lives: the repository unless told otherwise (tests use a temporary home).
HOME = Path(os.environ.get("LOCAL_STACK_HOME") or Path(__file__).resolve().parent.parent)
VAR = HOME / "var"
ENV_FILE = HOME / ".env"
SERVICE_HOST, SERVICE_PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))
DB_PORT = int(os.environ.get("LOCAL_DB_PORT", "27217"))
EMULATOR_PORT = int(os.environ.get("LOCAL_STRIPE_EMULATOR_PORT", "12111"))


def ensure_env_file() -> None:
    """The local secrets, generated once and kept in .env (ignored by git)."""
    if ENV_FILE.exists():
        return
    ENV_FILE.write_text(
        "# Local default settings, written by `make run`. Exported variables override these.\n"
        f"JWT_SECRET={secrets.token_urlsafe(48)}\n"
        "STRIPE_SECRET_KEY=sk_test_emulator\n"
        f"STRIPE_API_BASE=http://127.0.0.1:{EMULATOR_PORT}\n"
        "STRIPE_WEBHOOK_SECRET=whsec_platform_emulator\n"
        "STRIPE_CONNECT_WEBHOOK_SECRET=whsec_connect_emulator\n"
    )


def load_env_file() -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return {**values, **os.environ}  # exported variables win, as in the service


def start(command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
    log = (VAR / f"{log_name}.log").open("ab")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(
    check: str, probe: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{check} exited early; see var/{check}.log")
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.2)
    sys.exit(f"{check} did not start within {timeout}s; see var/{check}.log")


def start_database(env: dict[str, str]) -> subprocess.Popen[bytes]:
    (VAR / "db").mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("secantusd-py")),
        "--host",
        "127.0.0.1",
        "--port",
        str(DB_PORT),
        "--storage-path",
        str(VAR / "db"),
    ]
    process = start(command, env, "secantusdb")
    uri = f"mongodb://127.0.0.1:{DB_PORT}/?replicaSet=secantus&directConnection=true"

    def answers() -> bool:
        client: MongoClient[dict[str, object]]
        with MongoClient(uri, serverSelectionTimeoutMS=500) as client:
            client.admin.command("ping")
        return True

    wait_for("secantusdb", answers, process)
    env["MONGODB_URI"] = uri
    return process


def start_emulator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    env.setdefault("EMULATOR_WEBHOOK_URL", f"http://{SERVICE_HOST}:{SERVICE_PORT}/webhooks/stripe")
    command = [sys.executable, "-m", "stripe_emulator", "--host", "127.0.0.1", "--port", str(EMULATOR_PORT)]
    process = start(command, env, "stripe-emulator")
    base = f"http://127.0.0.1:{EMULATOR_PORT}"
    wait_for(
        "stripe-emulator",
        lambda: (
            httpx.get(
                f"{base}/v1/balance",
                timeout=1,
                headers={"Authorization": f"Bearer {env['STRIPE_SECRET_KEY']}"},
            ).status_code
            == 200
        ),
        process,
    )
    env["STRIPE_API_BASE"] = base
    return process


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    VAR.mkdir(parents=True, exist_ok=True)
    ensure_env_file()
    env = load_env_file()
    uses_emulator = env.get("STRIPE_SECRET_KEY") == "sk_test_emulator"
    children: list[subprocess.Popen[bytes]] = []
    try:
        if "MONGODB_URI" not in os.environ:
            children.append(start_database(env))
        if uses_emulator:
            children.append(start_emulator(env))
        subprocess.run([sys.executable, "-m", "app", "seed-demo"], env=env, check=True, cwd=HOME)
        print_welcome(env, uses_emulator)
        serve = [sys.executable, "-m", "app", "serve", "--host", SERVICE_HOST, "--port", str(SERVICE_PORT)]
        children.append(subprocess.Popen(serve, env=env, cwd=HOME))
        children[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def print_welcome(env: dict[str, str], uses_emulator: bool) -> None:
    base = f"http://{SERVICE_HOST}:{SERVICE_PORT}"
    stripe_line = (
        f"Stripe emulator at {env['STRIPE_API_BASE']}" if uses_emulator else "Stripe: the configured account"
    )
    print(
        f"""
Marketplace payments, local default
  API:       {base}   (OpenAPI docs at {base}/docs)
  MongoDB:   {env["MONGODB_URI"]}
  {stripe_line}
  Demo users: buyer_demo (buyer), seller_demo (seller), admin_demo (admin)
  Get a token:  .venv/bin/python -m app token --user buyer_demo --role buyer
  Then:         curl -H "Authorization: Bearer $TOKEN" {base}/...  (see the docs for the routes)
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
