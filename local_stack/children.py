"""The processes of the local stack: each in its own process group, stopped in order within 2 seconds."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.ports import Port

# Ctrl-C or SIGTERM to `make run` leaves every child gone within 2 s, with room for make and a
# loaded machine (the database sometimes needs its SIGKILL). The API goes first and alone:
# while it shuts down it still talks to the database; the others do not depend on each other.
API_STOP_SECONDS = 0.8
STOP_SECONDS = 1.4
POLL_SECONDS = 0.02


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    port: Port | None = None
    log: Path | None = None
    # Called while the child is stopping, for a server that needs a push to notice its signal.
    nudge: Callable[[], None] = field(default=lambda: None)

    def where_to_look(self) -> str:
        return f"see {self.log}" if self.log else "see its output above"

    def running(self) -> bool:
        return self.process.poll() is None


def launch(name: str, command: Sequence[str], env: dict[str, str], cwd: Path, log: Path | None) -> Child:
    """Start a child in its own process group, its output appended to `log` (or on our terminal).

    Its own group, because Ctrl-C at the terminal signals the whole foreground group at once, and
    the database must outlive the API's shutdown; we stop each child ourselves, in order.
    """
    output = log.open("ab") if log else None
    try:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            process_group=0,
        )
    finally:
        if output:
            output.close()  # the child has its own copy
    return Child(name, process, log=log)


def stop_all(children: Sequence[Child]) -> None:
    """The last started child first, then the others together; SIGKILL whatever outlives the deadline."""
    start = time.monotonic()
    running = [child for child in children if child.running()]
    if not running:
        return
    *others, last = running
    _stop([last], start + API_STOP_SECONDS)
    _stop(others, start + STOP_SECONDS)


def _stop(children: Sequence[Child], deadline: float) -> None:
    for child in children:
        child.process.terminate()
    while any(child.running() for child in children) and time.monotonic() < deadline:
        for child in children:
            if child.running():
                child.nudge()
        time.sleep(POLL_SECONDS)
    for child in children:
        if child.running():
            child.process.kill()
        child.process.wait()
