"""`GET /v1/sse`: Server-Sent Events, the events half of a connection (PROTOCOL.md §6).

Commands go over `POST /v1/poll/commands` as for long polling; this stream only delivers:
- the session token as `Authorization: Bearer <token>` or `?token=` (a browser `EventSource`
  cannot set headers); bad or expired: 401 problem, ended session: 404 problem, an `Origin`
  outside the allow-list: 403 problem;
- the resume point: the `Last-Event-ID` header when present (`EventSource` sends it on its own
  reconnects), else `?after=N` (default 0); each an integer from 0 to `SEQ_MAX` (else 400);
- the answer: `text/event-stream`, first `retry: 2000`, then each durable event as `id: <seq>`
  and `data: <event JSON>`, each ephemeral event (typing) as `data:` only (no `id`: the resume
  point does not move), a `: ping` comment every `heartbeat` seconds, and the `error` frame
  `gap` as `data:` when the log no longer holds the events after the cursor (delivery goes on
  from the oldest kept event, as on a WebSocket);
- after `session.ended` the stream ends (a later GET answers 404); a client that does not read
  for `slow_consumer_seconds` is dropped (the events stay in the log);
- at most `max_held_per_session` streams and held long polls at once per session: one more is
  answered 429 `rate_limited`.

The stream is a hub member like a WebSocket; which events to write, the cursor and the gap are
the pure `ClientConnection`'s decisions.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from axp_chat_connector.errors import ConnectorError, Unauthorized
from axp_chat_connector.transports.admission import Holds
from axp_chat_connector.transports.connection import ClientConnection, Mode
from axp_chat_connector.transports.shell import (
    Drained,
    Parts,
    Shell,
    bearer_token,
    carry,
    check_origin,
    client_gone,
    client_host,
    connection_closed,
    drain,
    problem,
    seq_param,
)

_log = structlog.get_logger(__name__)

PATH: Final = "/v1/sse"
RETRY_MS: Final = 2000
"""How long `EventSource` waits before reconnecting on its own."""
_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]
_PING: Final = b": ping\n\n"
_OVER: Final = frozenset({Drained.OVER, Drained.ENDED})


def event_text(data: str, seq: int | None = None) -> bytes:
    """One SSE event: `id:` when it moves the resume point, and one `data:` line (compact
    JSON never holds a line break)."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {data}\n\n".encode()


class _Stream:
    """One open event stream, as a hub member."""

    __slots__ = ("announced", "carried", "conn", "pending", "woken")

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.woken = asyncio.Event()
        self.pending: list[str] = []
        self.carried: list[dict[str, Any]] = []
        """Events the bus notices carried (`shell.carry`), not written yet."""
        self.announced = 0

    @property
    def cursor(self) -> int:
        return self.conn.cursor

    def wake(self, seq: int, events: tuple[dict[str, Any], ...] = ()) -> None:
        if seq > self.conn.cursor:
            self.announced = max(self.announced, seq)
            if events:
                carry(self.carried, events, self.conn.limits.max_events_per_read)
            self.woken.set()

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        if len(self.pending) >= self.conn.limits.max_pending_ephemeral:
            del self.pending[0]
        self.pending.append(text)
        self.woken.set()


class ServerSentEvents(Shell):
    transport = "sse"

    def __init__(self, parts: Parts, holds: Holds) -> None:
        super().__init__(parts)
        self.holds = holds
        """Held requests per session, shared by long polling and SSE."""
        self.streams = 0
        """Streams open now."""

    def routes(self) -> list[Route]:
        return [Route(PATH, self, methods=["GET"])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            check_origin(self.limits, request)
            session_id = await self._session(request)
            after = self._resume_point(request)
            self.addresses.take(client_host(request))
        except ConnectorError as exc:
            await self.refused(exc, client_host(request))(scope, receive, send)
            return
        address = client_host(request)
        try:
            self.holds.take(session_id)
            if "last-event-id" in request.headers:  # EventSource reconnecting on its own
                self.metrics.resumes.labels(self.transport).inc()
        except ConnectorError as exc:
            self.addresses.release(address)
            await self.refused(exc, address)(scope, receive, send)
            return
        try:
            await self._open(session_id, after, scope, receive, send)
        finally:
            self.holds.release(session_id)
            self.addresses.release(address)

    async def _open(
        self, session_id: str, after: int, scope: Scope, receive: Receive, send: Send
    ) -> None:
        conn = ClientConnection(self.limits, Mode.SOCKET, session_id=session_id, cursor=after)
        stream = _Stream(conn)
        try:
            await self.hub.attach(session_id, stream)
        except ConnectorError as exc:
            await problem(exc)(scope, receive, send)
            return
        self.streams += 1
        try:
            await self._serve(stream, session_id, receive, send)
        finally:
            self.streams -= 1
            self.hub.detach(session_id, stream)
            await connection_closed(self, session_id)

    def _resume_point(self, request: Request) -> int:
        last_event_id = request.headers.get("last-event-id")
        if last_event_id is None:
            return seq_param(request.query_params, "after")
        return seq_param(request.query_params, "Last-Event-ID", last_event_id)

    async def _session(self, request: Request) -> str:
        token = bearer_token(request) or request.query_params.get("token")
        if not token:
            raise Unauthorized("a session token is required")
        return await self.service.session_of_token(token)

    async def _serve(self, stream: _Stream, session_id: str, receive: Receive, send: Send) -> None:
        try:
            await self.service.connection_opened(session_id)
        except ConnectorError as exc:
            _log.warning("sse.opened_failed", session_id=session_id, error=exc.code)
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        gone = asyncio.ensure_future(client_gone(receive))
        try:
            if await self._write(send, f"retry: {RETRY_MS}\n\n".encode()):
                await self._pump(stream, send, gone)
        finally:
            left = gone.done()
            if left:
                gone.exception()  # retrieved: a failed read also means the client is gone
            else:
                gone.cancel()
        if not left:
            await self._finish(send)

    async def _pump(self, stream: _Stream, send: Send, gone: asyncio.Future[None]) -> None:
        """Write events as they come, and pings between; return when the stream is over."""
        while True:
            stream.woken.clear()
            carried, stream.carried = stream.carried, []
            announced, stream.announced = stream.announced, 0
            write = functools.partial(self._write_event, send)
            if await drain(self, stream.conn, write, carried, announced) in _OVER:
                return
            pending, stream.pending = stream.pending, []
            for text in pending:
                if not await self._write(send, event_text(text)):
                    return
            woken = asyncio.ensure_future(stream.woken.wait())
            try:
                await asyncio.wait(
                    (woken, gone),
                    timeout=self.limits.heartbeat,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                woken.cancel()
            if gone.done():
                return
            if not stream.woken.is_set() and not await self._write(send, _PING):
                return

    async def _write_event(self, send: Send, text: str, seq: int | None) -> bool:
        return await self._write(send, event_text(text, seq))

    async def _write(self, send: Send, body: bytes) -> bool:
        """Send one chunk; False when the client left or does not read."""
        try:
            async with asyncio.timeout(self.limits.slow_consumer_seconds):
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except TimeoutError:
            _log.info("sse.slow_consumer")
            return False
        except OSError:  # the client left
            return False
        return True

    async def _finish(self, send: Send) -> None:
        try:
            async with asyncio.timeout(self.limits.slow_consumer_seconds):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (TimeoutError, OSError):
            pass
