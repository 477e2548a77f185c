"""`make run`: start what the service needs locally, seed demo data, then run the service.

Anything already configured in the environment is used as it is: an exported MONGODB_URI means
no embedded database; an exported STRIPE_SECRET_KEY without STRIPE_API_BASE means real Stripe.
On a shared machine it either starts every component on its own port, or stops with a message
and leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from local_stack.children import Child, launch, stop_all
from local_stack.errors import StackError, StopRequested
from local_stack.identity import database_is_ours, http_is_ours, wait_until_ours
from local_stack.ports import HOST, Port, port_from, refuse_taken

EMULATOR_KEY = "sk_test_emulator"
# The emulator's default publishable key; the service and the emulator both read it from .env.
EMULATOR_PUBLISHABLE_KEY = "pk_test_emulator"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class LocalStack:
    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        self.home = home
        self.var = home / "var"
        self.environ = environ
        self.children: list[Child] = []
        self._stop_requested = False

    # Signals only set a flag, checked wherever we wait: a child is never half-recorded.
    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_requested = True

    def pause(self, seconds: float) -> None:
        if not self._stop_requested:
            time.sleep(seconds)
        if self._stop_requested:
            raise StopRequested

    def run(self) -> None:
        api_port = port_from(self.environ, "the API", "PORT", 8000)
        db_port = port_from(self.environ, "the database", "LOCAL_DB_PORT", 27217)
        emulator_port = port_from(self.environ, "the Stripe emulator", "LOCAL_STRIPE_EMULATOR_PORT", 12111)
        self.var.mkdir(parents=True, exist_ok=True)
        env = self.settings(emulator_port)
        seller_setup_page(env, api_port)
        starts_database = "MONGODB_URI" not in self.environ
        uses_emulator = env.get("STRIPE_SECRET_KEY") == EMULATOR_KEY
        refuse_taken(
            [api_port] + ([db_port] if starts_database else []) + ([emulator_port] if uses_emulator else [])
        )
        if starts_database:
            self.start_database(env, db_port)
        if uses_emulator:
            self.start_emulator(env, emulator_port, api_port)
        self.seed_demo(env)
        self.start_api(env, api_port)
        print_welcome(env, api_port, uses_emulator)
        self.watch()

    def settings(self, emulator_port: Port) -> dict[str, str]:
        """The local secrets, generated once and kept in .env (ignored by git); exported variables win."""
        env_file = self.home / ".env"
        if not env_file.exists():
            env_file.write_text(
                "# Local default settings, written by `make run`. Exported variables override these.\n"
                f"JWT_SECRET={secrets.token_urlsafe(48)}\n"
                f"STRIPE_SECRET_KEY={EMULATOR_KEY}\n"
                f"STRIPE_PUBLISHABLE_KEY={EMULATOR_PUBLISHABLE_KEY}\n"
                f"STRIPE_API_BASE=http://{HOST}:{emulator_port.number}\n"
                "STRIPE_WEBHOOK_SECRET=whsec_platform_emulator\n"
                "STRIPE_CONNECT_WEBHOOK_SECRET=whsec_connect_emulator\n"
            )
        values = read_env_file(env_file)
        if values.get("STRIPE_SECRET_KEY") == EMULATOR_KEY and "STRIPE_PUBLISHABLE_KEY" not in values:
            # A .env written before the service handed out a publishable key: add the emulator's.
            add_env_line(env_file, "STRIPE_PUBLISHABLE_KEY", EMULATOR_PUBLISHABLE_KEY)
            values["STRIPE_PUBLISHABLE_KEY"] = EMULATOR_PUBLISHABLE_KEY
        return {**values, **self.environ}

    def launch(self, name: str, command: list[str], env: dict[str, str], log_name: str | None) -> Child:
        child = launch(name, command, env, self.home, self.var / f"{log_name}.log" if log_name else None)
        self.children.append(child)
        return child

    def start_database(self, env: dict[str, str], port: Port) -> None:
        (self.var / "db").mkdir(exist_ok=True)
        secantusd = str(Path(sys.executable).with_name("secantusd-py"))
        storage = str(self.var / "db")
        command = [secantusd, "--host", HOST, "--port", str(port.number), "--storage-path", storage]
        child = self.launch("database", command, env, "secantusdb")
        child.port = port
        child.nudge = lambda: wake_accept_loop(port)
        wait_until_ours(child, port, lambda: database_is_ours(child, port), self.pause)
        env["MONGODB_URI"] = f"mongodb://{HOST}:{port.number}/?replicaSet=secantus&directConnection=true"

    def start_emulator(self, env: dict[str, str], port: Port, api_port: Port) -> None:
        env.setdefault("EMULATOR_WEBHOOK_URL", f"http://{HOST}:{api_port.number}/webhooks/stripe")
        command = [sys.executable, "-m", "stripe_emulator", "--host", HOST, "--port", str(port.number)]
        child = self.launch("Stripe emulator", command, env, "stripe-emulator")
        child.port = port

        def is_ours() -> None:
            # The emulator's own control endpoint, reporting the webhook target we gave it.
            http_is_ours(
                child,
                port,
                "/_emulator/config",
                lambda r: r.status_code == 200 and r.json().get("webhook_url") == env["EMULATOR_WEBHOOK_URL"],
            )

        wait_until_ours(child, port, is_ours, self.pause)
        env["STRIPE_API_BASE"] = f"http://{HOST}:{port.number}"

    def seed_demo(self, env: dict[str, str]) -> None:
        child = self.launch("demo data seeding", [sys.executable, "-m", "app", "seed-demo"], env, None)
        while child.running():
            self.pause(0.1)
        self.children.remove(child)
        if child.process.returncode != 0:
            raise StackError(f"Seeding the demo data failed (code {child.process.returncode}); see above.")

    def start_api(self, env: dict[str, str], port: Port) -> None:
        command = [sys.executable, "-m", "app", "serve", "--host", HOST, "--port", str(port.number)]
        child = self.launch("API", command, env, None)
        child.port = port
        wait_until_ours(
            child,
            port,
            lambda: http_is_ours(child, port, "/readyz", lambda r: r.status_code == 200),
            self.pause,
        )

    def watch(self) -> None:
        """Run until asked to stop; a component that stops on its own stops the whole stack."""
        while True:
            for child in self.children:
                if not child.running():
                    raise StackError(
                        f"The {child.name} stopped unexpectedly (code {child.process.returncode}); "
                        f"{child.where_to_look()}. Stopping the local stack."
                    )
            self.pause(0.2)


def seller_setup_page(env: dict[str, str], api_port: Port) -> None:
    """Stripe's onboarding returns sellers to the service's own "Set up payments" page, unless
    the settings name another frontend."""
    page = f"http://{HOST}:{api_port.number}/ui/#/seller/setup"
    env.setdefault("ONBOARDING_RETURN_URL", f"{page}?returned=1")
    env.setdefault("ONBOARDING_REFRESH_URL", f"{page}?link=expired")


def read_env_file(env_file: Path) -> dict[str, str]:
    values = {}
    for line in env_file.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def add_env_line(env_file: Path, name: str, value: str) -> None:
    """Append `name=value`, leaving every existing line as it is."""
    text = env_file.read_text()
    separator = "" if not text or text.endswith("\n") else "\n"
    with env_file.open("a") as appending:
        appending.write(f"{separator}{name}={value}\n")


def wake_accept_loop(port: Port) -> None:
    """SecantusDB checks its stop flag only between accepted connections; one connection wakes it."""
    with contextlib.suppress(OSError):
        socket.create_connection((HOST, port.number), timeout=0.1).close()


def print_welcome(env: dict[str, str], api_port: Port, uses_emulator: bool) -> None:
    base = f"http://{HOST}:{api_port.number}"
    stripe_line = (
        f"Stripe emulator at {env['STRIPE_API_BASE']}" if uses_emulator else "Stripe: the configured account"
    )
    print(
        f"""
Marketplace payments, local default: every component is up and answering
  API:       {base}   (OpenAPI docs at {base}/docs)
  MongoDB:   {env["MONGODB_URI"]}
  {stripe_line}
  Web pages: {base}/ui/   (sign in with a token; the admin console needs admin_demo's)
  Demo users: buyer_demo (buyer), seller_demo (seller), admin_demo (admin)
  Get a token:  .venv/bin/python -m app token --user buyer_demo --role buyer
                .venv/bin/python -m app token --user seller_demo --role seller
                .venv/bin/python -m app token --user admin_demo --role admin
  Then:         curl -H "Authorization: Bearer $TOKEN" {base}/...  (see the docs for the routes)
{pay_a_topup(env["STRIPE_API_BASE"], base) if uses_emulator else ""}  Stop:      Ctrl-C
""",
        flush=True,
    )


def pay_a_topup(emulator_base: str, api_base: str) -> str:
    """The banner's steps to pay a top-up as a buyer's browser would, on the emulator's payment page."""
    print_from_answer = "import json, sys; print(json.load(sys.stdin)['client_secret'])"
    return f"""  Pay a top-up on the emulator's test payment page (README: "Pay a top-up locally"):
    1. TOKEN=$(.venv/bin/python -m app token --user buyer_demo --role buyer | tail -n 1)
    2. SECRET=$(curl -s -X POST {api_base}/wallet/topup_request -H "Authorization: Bearer $TOKEN" \\
         -H "Idempotency-Key: topup-$(date +%s)" -H "Content-Type: application/json" \\
         -d '{{"amount": 2500, "currency": "usd"}}' | .venv/bin/python -c "{print_from_answer}")
    3. Open this in a browser and pick a card:
         echo "{emulator_base}/_emulator/pay?client_secret=$SECRET&return_url={api_base}/docs"
    Then the balance: curl -H "Authorization: Bearer $TOKEN" {api_base}/wallet
"""


def main() -> None:
    # Where the local state lives: the repository unless told otherwise (tests use a temporary home).
    home = Path(os.environ.get("LOCAL_STACK_HOME") or Path(__file__).resolve().parent.parent)
    stack = LocalStack(home, dict(os.environ))
    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    for signum in STOP_SIGNALS:
        signal.signal(signum, stack.request_stop)
    exit_code = 0
    try:
        stack.run()
    except StopRequested:
        pass
    except StackError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        stop_all(stack.children)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
