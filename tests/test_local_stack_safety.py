"""`make run` on a shared machine: it never uses someone else's server, never leaves anything
half-started, and stops within 2 seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import psutil
import pytest

from local_stack.__main__ import LocalStack
from local_stack.children import Child, launch, stop_all
from local_stack.errors import StackError
from local_stack.identity import database_is_ours, http_is_ours
from local_stack.ports import Port
from tests.local_stack_support import (
    BANNER,
    RunningStack,
    finish_on_ports_nobody_takes,
    foreign_database,
    foreign_emulator,
    foreign_listener,
    free_ports,
    listening,
    processes_serving,
    stack_environment,
    start_local_stack,
    stop_leftovers,
)
from tests.mongo_server import free_port

STOP_WITHIN_SECONDS = 2.0

FOREIGN_SERVERS: dict[str, Callable[[int], AbstractContextManager[subprocess.Popen[bytes]]]] = {
    "PORT": foreign_listener,
    "LOCAL_DB_PORT": foreign_database,
    "LOCAL_STRIPE_EMULATOR_PORT": foreign_emulator,
}


@pytest.mark.parametrize("variable", list(FOREIGN_SERVERS))
def test_a_port_taken_by_another_process_stops_make_run_before_anything_starts(
    tmp_path: Path, variable: str
) -> None:
    ports = free_ports()
    others = {name: port for name, port in ports.items() if name != variable}
    with FOREIGN_SERVERS[variable](ports[variable]) as foreign:
        stack = start_local_stack(tmp_path, ports)
        try:
            code = stack.finish()
            started = processes_serving(others)
            listened = [port for port in others.values() if listening(port)]
        finally:
            stop_leftovers(stack, others)
        foreign_survived = foreign.poll() is None

    assert code != 0
    assert f"Port {ports[variable]} " in stack.output, stack.output
    assert f"{variable}=" in stack.output, stack.output
    assert BANNER not in stack.output
    assert started == []
    assert listened == []
    assert not list((tmp_path / "var").glob("*.log")), "a component was started"
    assert foreign_survived, "the other process is left alone"


def test_a_component_that_fails_to_start_stops_the_whole_stack(tmp_path: Path) -> None:
    # The database and the emulator start; seeding then refuses the settings.
    stack, ports, code = finish_on_ports_nobody_takes(tmp_path, 120, JWT_SECRET="too-short")
    try:
        left_running = processes_serving(ports)
        listened = [port for port in ports.values() if listening(port)]
    finally:
        stop_leftovers(stack, ports)

    assert code == 1
    assert "Seeding the demo data failed" in stack.output, stack.output
    assert BANNER not in stack.output
    assert (tmp_path / "var" / "secantusdb.log").exists(), "the database had been started"
    assert (tmp_path / "var" / "stripe-emulator.log").exists(), "the emulator had been started"
    assert left_running == []
    assert listened == []


@pytest.fixture
def stack_home(tmp_path: Path) -> Iterator[LocalStack]:
    """The stack's own steps, run in this process; whatever they start is stopped afterwards."""
    stack = LocalStack(tmp_path, stack_environment(tmp_path, free_ports()))
    (tmp_path / "var").mkdir()
    try:
        yield stack
    finally:
        stop_all(stack.children)


def test_a_foreign_database_on_the_port_is_detected_not_used(stack_home: LocalStack) -> None:
    port = Port("the database", "LOCAL_DB_PORT", free_port())
    with foreign_database(port.number) as foreign:
        env = dict(stack_home.environ)
        with pytest.raises(StackError) as refused:
            stack_home.start_database(env, port)
        stop_all(stack_home.children)

        assert f"port {port.number}" in str(refused.value).lower()
        assert "LOCAL_DB_PORT" in str(refused.value)
        assert "MONGODB_URI" not in env, "the service would have been pointed at it"
        assert not any(child.running() for child in stack_home.children)
        assert foreign.poll() is None


def test_a_database_answers_as_ours_only_with_our_process_id(tmp_path: Path) -> None:
    port = Port("the database", "LOCAL_DB_PORT", free_port())
    with foreign_database(port.number) as server:
        other = launch("database", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path, None)
        try:
            with pytest.raises(StackError, match=f"Port {port.number} answers as another database server"):
                database_is_ours(other, port)
        finally:
            stop_all([other])
        database_is_ours(Child("database", server), port)


def test_an_emulator_answers_as_ours_only_from_a_socket_our_child_holds(tmp_path: Path) -> None:
    port = Port("the Stripe emulator", "LOCAL_STRIPE_EMULATOR_PORT", free_port())

    def config_answers(response: httpx.Response) -> bool:
        return response.status_code == 200 and "webhook_url" in response.json()

    with foreign_emulator(port.number) as server:
        other = launch(
            "Stripe emulator", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path, None
        )
        try:
            with pytest.raises(StackError, match=f"Port {port.number} answers as another process"):
                http_is_ours(other, port, "/_emulator/config", config_answers)
        finally:
            stop_all([other])
        http_is_ours(Child("Stripe emulator", server), port, "/_emulator/config", config_answers)


def test_sigterm_to_make_run_stops_every_child_within_two_seconds(tmp_path: Path) -> None:
    ports = free_ports()
    env = stack_environment(tmp_path, ports)
    # `make run` itself (its install step skipped: this interpreter's environment is installed).
    stack = RunningStack(
        ["make", "--no-print-directory", "-o", "install", "run", f"PY={sys.executable}"], env
    )
    try:
        stack.wait_for_banner()
        descendants = psutil.Process(stack.process.pid).children(recursive=True)
        holders = {conn.laddr.port for p in descendants for conn in p.net_connections("tcp")}
        assert set(ports.values()) <= holders, "each component runs under make"

        stopping = time.monotonic()
        stack.process.send_signal(signal.SIGTERM)
        stack.process.wait(timeout=STOP_WITHIN_SECONDS)
        left = max(0.0, stopping + STOP_WITHIN_SECONDS - time.monotonic())
        _, alive = psutil.wait_procs(descendants, timeout=left)
        took = time.monotonic() - stopping
    finally:
        stop_leftovers(stack, ports)

    assert alive == [], f"still running {took:.2f}s after SIGTERM: {alive}"
    assert not [port for port in ports.values() if listening(port)]
