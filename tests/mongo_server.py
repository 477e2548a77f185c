"""A SecantusDB server process for the test session (or an external MongoDB via TEST_MONGODB_URI)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pymongo import MongoClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(uri: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SecantusDB exited with code {process.returncode}")
        client: MongoClient[dict[str, object]]
        with contextlib.suppress(Exception), MongoClient(uri, serverSelectionTimeoutMS=500) as client:
            client.admin.command("ping")
            return
        time.sleep(0.1)
    raise RuntimeError(f"SecantusDB did not answer at {uri} within {timeout}s")


@contextlib.contextmanager
def secantus_server() -> Iterator[str]:
    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        yield external
        return
    port = free_port()
    executable = Path(sys.executable).with_name("secantusd-py")
    process = subprocess.Popen(
        [
            str(executable),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}/?replicaSet=secantus&directConnection=true"
    try:
        wait_until_ready(uri, process)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
