"""A minimal HTTP/1.1 keep-alive client over asyncio streams, for the load generator.

An HTTP client library costs the generator more CPU per request than the servers it measures
spend; this one does only what the benchmark needs: one request at a time per connection,
`Content-Length` or chunked bodies, and a line reader for streamed (SSE) answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpConnection:
    """One keep-alive connection to 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConnection:
        self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        return self

    def send(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        assert self._writer is not None, "open() first"
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def head(self) -> tuple[int, dict[str, str]]:
        """Read a status line and headers."""
        assert self._reader is not None, "open() first"
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        headers: dict[str, str] = {}
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Answer:
        self.send(method, path, body, headers)
        status, answer_headers = await self.head()
        assert self._reader is not None
        if answer_headers.get("transfer-encoding") == "chunked":
            chunks = [chunk async for chunk in self._chunks()]
            return Answer(status, answer_headers, b"".join(chunks))
        length = int(answer_headers.get("content-length", "0"))
        return Answer(status, answer_headers, await self._reader.readexactly(length))

    async def _chunks(self) -> AsyncIterator[bytes]:
        assert self._reader is not None
        while size := int((await self._reader.readline()).split(b";")[0], 16):
            yield await self._reader.readexactly(size)
            await self._reader.readline()
        await self._reader.readline()

    async def stream_lines(self) -> AsyncIterator[str]:
        """The lines of a chunked (streamed) body, after `head()`, until the stream ends."""
        pending = b""
        async for chunk in self._chunks():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r").decode()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
