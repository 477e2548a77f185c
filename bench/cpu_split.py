"""Where the CPU of one operation goes, by process: the service (uvicorn's processes), the
database server, and this process, which drives the load.

On a machine with few cores every process of a run shares them, so an operation's rate is bound
by its CPU, whichever process spends it: the served side pays for an HTTP client, an HTTP
server, the application and its MongoDB driver where the raw side pays for a MongoDB driver
alone. Each figure is CPU time (user + system) over the timed operations, divided by their count.

The application's own share is measured apart: the same requests through the ASGI application
in this process (no HTTP server, no HTTP client), FastAPI and the service's code with its MongoDB
driver, whose own share is about the raw driver's (the same commands). What the service spends
beyond the application is uvicorn's HTTP work (both run on uvloop; the difference is approximate,
measured in different processes).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import psutil
from starlette.types import ASGIApp, Message

SERVICE_COMMAND = ("-m", "app", "serve")


@dataclass(frozen=True)
class Measured:
    per_second: float
    # CPU milliseconds per operation, by process group (`CpuMeter` names).
    cpu_ms: Mapping[str, float]


@dataclass
class Tally:
    """Operations timed in one or more blocks: their count, wall-clock and CPU seconds."""

    operations: int = 0
    seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def measured(self) -> Measured:
        per_operation = {name: 1000 * spent / self.operations for name, spent in self.cpu_seconds.items()}
        return Measured(self.operations / self.seconds, per_operation)


class CpuMeter:
    """CPU time of groups of processes."""

    SERVICE = "service"
    DATABASE = "database"
    DRIVER = "driver"

    def __init__(self, groups: Mapping[str, list[psutil.Process]]) -> None:
        self._groups = groups

    @classmethod
    def of_this_run(cls) -> CpuMeter:
        """The service under uvicorn and the SecantusDB this run started (children of this
        process; an external database is not measured), and this process."""
        this = psutil.Process()
        children = this.children(recursive=True)
        services = [child for child in children if _runs(child, SERVICE_COMMAND)]
        database = [child for child in children if "secantusd" in " ".join(_command(child))]
        service = [process for api in services for process in (api, *api.children(recursive=True))]
        groups = {cls.SERVICE: service, cls.DRIVER: [this]}
        return cls(groups | ({cls.DATABASE: database} if database else {}))

    def in_process(self) -> CpuMeter:
        """This process alone: what an application called in process costs."""
        return CpuMeter({self.DRIVER: self._groups[self.DRIVER]})

    @asynccontextmanager
    async def counting(self, tally: Tally, operations: int) -> AsyncIterator[None]:
        """Add the block's wall-clock and CPU time, and its `operations`, to `tally`."""
        before = {name: _cpu_seconds(group) for name, group in self._groups.items()}
        started = time.perf_counter()
        yield
        tally.seconds += time.perf_counter() - started
        tally.operations += operations
        for name, group in self._groups.items():
            spent = _cpu_seconds(group) - before[name]
            tally.cpu_seconds[name] = tally.cpu_seconds.get(name, 0.0) + spent


@dataclass(frozen=True)
class ServedSplit:
    """One operation's CPU, served beside raw, in milliseconds."""

    service: float
    application: float
    database: float | None
    load_driver: float
    raw_database: float | None
    raw_driver: float

    @classmethod
    def of(cls, served: Mapping[str, float], raw: Mapping[str, float], application: float) -> ServedSplit:
        return cls(
            service=served[CpuMeter.SERVICE],
            application=application,
            database=served.get(CpuMeter.DATABASE),
            load_driver=served[CpuMeter.DRIVER],
            raw_database=raw.get(CpuMeter.DATABASE),
            raw_driver=raw[CpuMeter.DRIVER],
        )

    def lines(self) -> list[str]:
        served_total = self.service + (self.database or 0) + self.load_driver
        raw_total = (self.raw_database or 0) + self.raw_driver
        database = "" if self.database is None else f" + database server {self.database:.2f}"
        raw_database = "" if self.raw_database is None else f"database server {self.raw_database:.2f} + "
        return [
            f"CPU per operation, served {served_total:.2f} ms = service (uvicorn) {self.service:.2f}"
            f"{database} + load driver {self.load_driver:.2f}",
            f"{'':<4}the application alone, in process: {self.application:.2f}, of which its MongoDB "
            f"driver about {self.raw_driver:.2f} (the raw driver's); the rest of the service is HTTP",
            f"CPU per operation, raw {raw_total:.2f} ms = {raw_database}driver {self.raw_driver:.2f}",
        ]


async def call_asgi(
    app: ASGIApp, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
) -> int:
    """One request straight into the ASGI application, as an HTTP server hands it over; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        + [(b"host", b"bench"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
    }
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    status = 0

    async def receive() -> Message:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _cpu_seconds(group: list[psutil.Process]) -> float:
    return sum(sum(process.cpu_times()[:2]) for process in group)


def _command(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _runs(process: psutil.Process, arguments: tuple[str, ...]) -> bool:
    command = _command(process)
    return any(tuple(command[i : i + len(arguments)]) == arguments for i in range(len(command)))
