"""Running `make run`'s stack (python -m local_stack, or make itself) from tests, and watching it."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psutil

from local_stack.ports import is_free
from tests.mongo_server import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
BANNER = "every component is up and answering"
PORT_VARIABLES = ("PORT", "LOCAL_DB_PORT", "LOCAL_STRIPE_EMULATOR_PORT")


def stack_environment(home: Path, ports: Mapping[str, int]) -> dict[str, str]:
    """The test's environment less anything that would point the stack elsewhere, in a temporary home."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in {
            "MONGODB_URI",
            "STRIPE_SECRET_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "STRIPE_API_BASE",
            "EMULATOR_WEBHOOK_URL",
        }
    }
    env.update({name: str(port) for name, port in ports.items()}, LOCAL_STACK_HOME=str(home))
    return env


def free_ports() -> dict[str, int]:
    return {name: free_port() for name in PORT_VARIABLES}


class RunningStack:
    """A started stack whose merged output is read as it comes, so a child never blocks on a full pipe."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._new_lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._new_lines.put(line)
        self._new_lines.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_banner(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._new_lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the stack exited before its banner:\n{self.output}")
            if BANNER in line:
                return
        raise AssertionError(f"no banner within {timeout}s:\n{self.output}")

    def finish(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)


def start_local_stack(home: Path, ports: Mapping[str, int], **extra_env: str) -> RunningStack:
    env = stack_environment(home, ports)
    env.update(extra_env)
    return RunningStack([sys.executable, "-m", "local_stack"], env)


PORT_TAKEN_MEANWHILE = "took the port"


def finish_on_ports_nobody_takes(
    home: Path, timeout: float, **extra_env: str
) -> tuple[RunningStack, dict[str, int], int]:
    """Run the stack to its end on free ports. On a shared machine another process can bind a port
    between our picking it and the stack binding it (the stack then rightly refuses it): that run
    proves nothing, so it is repeated on new ports."""
    for _ in range(3):
        ports = free_ports()
        stack = start_local_stack(home, ports, **extra_env)
        try:
            code = stack.finish(timeout=timeout)
        except BaseException:
            stop_leftovers(stack, ports)
            raise
        if PORT_TAKEN_MEANWHILE not in stack.output:
            return stack, ports, code
        stop_leftovers(stack, ports)
    raise AssertionError(f"other processes kept taking the ports picked:\n{stack.output}")


def start_on_ports_nobody_takes(home: Path) -> tuple[RunningStack, dict[str, int]]:
    """The stack started and answering, on free ports (new ones when another process took one meanwhile)."""
    for _ in range(3):
        ports = free_ports()
        stack = start_local_stack(home, ports)
        try:
            stack.wait_for_banner()
            return stack, ports
        except AssertionError:
            stop_leftovers(stack, ports)
            if PORT_TAKEN_MEANWHILE not in stack.output:
                raise
    raise AssertionError(f"other processes kept taking the ports picked:\n{stack.output}")


def processes_serving(ports: Mapping[str, int]) -> list[psutil.Process]:
    """Processes started with `--port N` for one of these ports, whoever started them."""
    wanted = {str(port) for port in ports.values()}
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(flag == "--port" and value in wanted for flag, value in itertools.pairwise(cmdline)):
            found.append(process)
    return found


def stop_leftovers(stack: RunningStack, ports: Mapping[str, int]) -> None:
    """After a test, whatever it started that still runs (only when the test failed): killed."""
    for process in [*processes_serving(ports), stack.process]:
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            process.kill()
    stack.process.wait()


def listening(port: int) -> bool:
    return not is_free(port)


@contextmanager
def foreign_database(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Someone else's SecantusDB on `port`."""
    secantusd = str(Path(sys.executable).with_name("secantusd-py"))
    process = subprocess.Popen(
        [secantusd, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"mongodb://127.0.0.1:{port}/?directConnection=true", process)
        yield process
    finally:
        process.kill()
        process.wait()


@contextmanager
def foreign_emulator(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Someone else's Stripe emulator on `port`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield process
    finally:
        process.kill()
        process.wait()


@contextmanager
def foreign_listener(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Another program altogether listening on `port`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield process
    finally:
        process.kill()
        process.wait()


def wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not listening(port):
        assert process.poll() is None, "the foreign process exited"
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.05)
