"""A minimal HTTP/1.1 client for driving load: keep-alive connections, one request at a time on
each, answers read by their `Content-Length`.

The load driver shares the machine's cores with the service and the database, so whatever CPU
it spends is taken from what is measured. httpx spends about 3 ms of CPU a request, more than the
service itself (`python -m bench.served` prints it); this one about a tenth of a millisecond, as
the raw side's MongoDB driver spends about that on a command.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit


class ProtocolError(RuntimeError):
    """The server answered something this client does not read (no `Content-Length`)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class LeanClient:
    """Requests to one server over up to as many connections as are in use at once."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None or url.port is None:
            raise ValueError(f"need http://host:port, not {base_url}")
        self._host, self._port = url.hostname, url.port
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connections, self._idle = self._idle, []
        for connection in connections:
            connection.writer.close()
        for connection in connections:
            await connection.writer.wait_closed()

    async def get(self, path: str, headers: Mapping[str, str]) -> Answer:
        return await self.request("GET", path, headers)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        return await self.request("POST", path, headers, body)

    async def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with self._connection() as connection:
            connection.writer.write(message)
            return await _answer(connection.reader)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Connection]:
        """An idle connection, or a new one; put back once its answer is read (not after a failure)."""
        if self._idle:
            connection = self._idle.pop()
        else:
            connection = _Connection(*await asyncio.open_connection(self._host, self._port))
        try:
            yield connection
        except BaseException:
            connection.writer.close()
            raise
        self._idle.append(connection)


async def _answer(reader: asyncio.StreamReader) -> Answer:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = dict(line.split(":", 1) for line in head[1:] if line)
    length = next((value for name, value in fields.items() if name.lower() == "content-length"), None)
    if length is None:
        raise ProtocolError(f"an answer {status} without Content-Length: {head}")
    return Answer(status, await reader.readexactly(int(length)))
