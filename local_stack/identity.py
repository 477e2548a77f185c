"""Whether a port answers as the component this stack started there, not as someone else's server.

An open port proves nothing on a shared machine: if our child could not bind, whatever already
listens there would answer. The database must report our child's process id; an HTTP component
must answer its own endpoint from a socket our child holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psutil
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from local_stack.children import Child
from local_stack.errors import StackError
from local_stack.ports import HOST, Port

STARTUP_TIMEOUT_SECONDS = 60.0
PROBE_SECONDS = 0.5


class NotAnswering(Exception):
    """Nothing answers yet, or not yet as expected: keep waiting."""


def foreign(port: Port, child: Child, found: str) -> StackError:
    return StackError(
        f"Port {port.number} answers as {found}, not as the {child.name} started here: another process "
        f"took the port. Stop it or choose another port with {port.variable}."
    )


def database_is_ours(child: Child, port: Port) -> None:
    uri = f"mongodb://{HOST}:{port.number}/?directConnection=true"
    client: MongoClient[dict[str, object]]
    try:
        with MongoClient(
            uri, serverSelectionTimeoutMS=PROBE_SECONDS * 1000, connectTimeoutMS=PROBE_SECONDS * 1000
        ) as client:
            status = client.admin.command("serverStatus")
    except PyMongoError as exc:
        raise NotAnswering from exc
    if "secantus" not in status or status.get("pid") != child.process.pid:
        raise foreign(port, child, f"another database server (process {status.get('pid')})")


def http_is_ours(child: Child, port: Port, path: str, answers: Callable[[httpx.Response], bool]) -> None:
    """`path` answers as `answers` expects, from a listening socket that our child holds."""
    try:
        response = httpx.get(f"http://{HOST}:{port.number}{path}", timeout=PROBE_SECONDS)
    except httpx.HTTPError as exc:
        raise NotAnswering from exc
    if not listens_on(child, port):
        raise foreign(port, child, f"another process (HTTP {response.status_code} on {path})")
    try:
        expected = answers(response)
    except ValueError:  # not the JSON it should be
        expected = False
    if not expected:
        raise NotAnswering


def listens_on(child: Child, port: Port) -> bool:
    try:
        sockets = psutil.Process(child.process.pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr.port == port.number for s in sockets)


def wait_until_ours(
    child: Child, port: Port, is_ours: Callable[[], None], pause: Callable[[float], None]
) -> None:
    """Return once the port answers as `child`; raise StackError if it cannot or something else does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if not child.running():
            raise StackError(
                f"The {child.name} exited (code {child.process.returncode}) before answering on port "
                f"{port.number} ({port.variable}); {child.where_to_look()}."
            )
        try:
            is_ours()
        except NotAnswering:
            pass
        else:
            return
        if time.monotonic() > deadline:
            raise StackError(
                f"The {child.name} did not answer on port {port.number} ({port.variable}) within "
                f"{STARTUP_TIMEOUT_SECONDS:.0f}s; {child.where_to_look()}."
            )
        pause(0.1)
