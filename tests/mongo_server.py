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


class SecantusProcess:
    """A SecantusDB server on one port and storage path, which a test may stop and start again:
    with a storage directory (not `:memory:`) it comes back with its data, at the same URI."""

    def __init__(self, storage_path: str = ":memory:") -> None:
        self.storage_path = storage_path
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?replicaSet=secantus&directConnection=true"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = Path(sys.executable).with_name("secantusd-py")
        self._process = subprocess.Popen(
            [
                str(executable),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                self.storage_path,
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_ready(self.uri, self._process)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


@contextlib.contextmanager
def secantus_server() -> Iterator[str]:
    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        yield external
        return
    server = SecantusProcess()
    try:
        server.start()
        yield server.uri
    finally:
        server.stop()
