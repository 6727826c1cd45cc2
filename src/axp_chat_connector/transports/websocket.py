"""`GET /v1/ws`: the WebSocket transport, a raw ASGI callable (PROTOCOL.md §6).

Served before Starlette's middleware stack (see `app.py`) to keep an idle socket small: one
coroutine per connection (the one awaiting `receive`), its state in a `__slots__` object, no
other task while idle. Heartbeats are uvicorn's WebSocket pings (timers, `uvicorn_options`).

The protocol (binding, cursor, pacing, close rules) is the pure `connection.ClientConnection`;
this module does the I/O around it. A connection:
- checks `Origin` before accepting (refused: the handshake is answered 403); one more than
  `connections_per_address` open from the client's address is accepted and closed with 4429;
- must bind (`login`/`resume`) within `bind_timeout` (close 4408); other commands before
  that get `unauthorized`, after it `login`/`resume` get `invalid_state` (`lifecycle.admit`);
- answers every command exactly once with the service's frame (nothing for `{}`: an `ack`
  without id); a frame that is not a command gets `bad_request` (with `re` when its id could be
  read), a binary frame `bad_request`, a frame over `max_frame_bytes` close 4413 (a message
  too large for uvicorn's buffer, or not UTF-8, is closed below: `wsproto_server`); commands over
  the rate get `rate_limited` (`retryAfter`), `flood_strikes` of them in a row close 4429;
- once bound, joins the hub and pumps: when woken, a short-lived task reads the event log after
  the connection's cursor and writes each event once, in seq order (at most one pump per
  connection at a time; a wake during a pump makes it read again);
- after a `session.ended` event, closes with 4409;
- if the log no longer holds the events after its cursor (`Gap`: the client fell far behind),
  sends an `error` frame with code `gap` and `seq` = the oldest kept, without `re`, and goes on
  from there: the client sees the seq jump, resumes, and gets the `gap` answer and `history`;
- a write that waits more than `slow_consumer_seconds` for the client to drain its socket drops
  the connection (the events stay in the log; nothing is queued for it). Writes carry no timer
  of their own: a watchdog task (`start`/`stop`, run by the app's lifespan) looks at the
  connections in a write every `slow_consumer_seconds / 2`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

import structlog
from starlette.types import Message, Receive, Scope, Send

from axp_chat_connector.background import spawn
from axp_chat_connector.errors import ConnectorError
from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.protocol.codes import CloseCode
from axp_chat_connector.security_log import Kind
from axp_chat_connector.sessions.service import Bound
from axp_chat_connector.transports.connection import ClientConnection, Close, Mode, Reply
from axp_chat_connector.transports.pacing import Pace
from axp_chat_connector.transports.shell import (
    Drained,
    Parts,
    Shell,
    carry,
    connection_closed,
    drain,
    run_command,
)

_log = structlog.get_logger(__name__)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class WebSocketHandler(Shell):
    """The ASGI callable for `/v1/ws` (websocket scopes only)."""

    transport = "websocket"

    def __init__(self, parts: Parts) -> None:
        super().__init__(parts)
        self.connections = 0
        self.writing: set[WebSocketConnection] = set()
        """Connections in a write now (the watchdog's round)."""
        self._watchdog: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._watchdog is None:
            self._watchdog = spawn(self._watch(), name="ws.watchdog")

    async def stop(self) -> None:
        task, self._watchdog = self._watchdog, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def drop_slow_consumers(self) -> int:
        """Drop the connections whose current write began over `slow_consumer_seconds` ago."""
        too_old = time.monotonic() - self.limits.slow_consumer_seconds
        slow = [conn for conn in self.writing if conn.since < too_old]
        for conn in slow:
            conn.stall()
        return len(slow)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.limits.slow_consumer_seconds / 2)
            self.drop_slow_consumers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        peer = scope["client"][0] if scope.get("client") else ""
        address = self.limits.client_address(peer, header(scope, b"x-forwarded-for"))
        if not self.limits.origin_allowed(header(scope, b"origin")):
            self.security.report(Kind.ORIGIN_REFUSED, address)
            await send({"type": "websocket.close", "code": CloseCode.POLICY})  # HTTP 403
            return
        try:
            self.addresses.take(address)
        except ConnectorError as exc:  # too many connections from this address
            self.security.report(Kind.RATE_LIMITED, address)
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": exc.close_code})
            return
        try:
            await self._serve(address, receive, send)
        finally:
            self.addresses.release(address)

    async def _serve(self, address: str, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.accept"})
        conn = WebSocketConnection(self, send, address)
        conn.task = asyncio.current_task()
        self.connections += 1
        self.metrics.ws_connections.inc()
        deadline = asyncio.get_running_loop().time() + self.limits.bind_timeout
        try:
            while not conn.closed:
                if conn.protocol.session_id is None:
                    try:
                        async with asyncio.timeout_at(deadline):
                            message = await receive()
                    except TimeoutError:
                        await conn.close(CloseCode.BIND_TIMEOUT)
                        return
                else:
                    message = await receive()
                if message["type"] != "websocket.receive" or not await self._frame(conn, message):
                    return
        except asyncio.CancelledError:
            if not conn.stalled:
                raise
        finally:
            conn.closed = True
            self.connections -= 1
            self.metrics.ws_connections.dec()
            if conn.joined and conn.protocol.session_id is not None:
                await self._unbind(conn.protocol.session_id, conn)

    async def _frame(self, conn: WebSocketConnection, message: Message) -> bool:
        """Handle one received frame; False when the connection is over."""
        protocol = conn.protocol
        text = message.get("text")
        if text is None:
            step = protocol.receive_binary()
        else:
            step = protocol.receive_text(text, time.monotonic())
        if isinstance(step, Close):
            if step.code == CloseCode.RATE_LIMITED:
                self.security.report(Kind.FLOOD, protocol.address)
            await conn.close(step.code)
            return False
        if isinstance(step, Reply):
            self.metrics.command(step.label, step.frame)
            self.watch(step.frame, protocol.address)
            return await conn.write(encode(step.frame))
        conn.busy = True  # not to be cancelled half-way by the watchdog
        try:
            frame = await run_command(self.service, protocol, step, self.metrics, self.transport)
        finally:
            conn.busy = False
        self.watch(frame, protocol.address)
        if frame:
            if not await conn.write(encode(frame)):
                return False
            self.metrics.ws_answers.inc()
        after = protocol.answer_sent()
        if after.close is not None:
            await conn.close(after.close)
            return False
        return after.bound is None or await self._bind(conn, after.bound)

    async def _bind(self, conn: WebSocketConnection, bound: Bound) -> bool:
        session_id = bound.session_id
        conn.target = sys.maxsize  # read the log once whatever the bus says
        try:
            await self.hub.attach(session_id, conn)
        except ConnectorError as exc:
            _log.warning("ws.attach_failed", session_id=session_id, error=exc.code)
            await conn.close(exc.close_code)
            return False
        conn.joined = True
        try:
            await self.service.connection_opened(session_id)
        except ConnectorError as exc:
            _log.warning("ws.opened_failed", session_id=session_id, error=exc.code)
        conn.kick()
        return True

    async def _unbind(self, session_id: str, conn: WebSocketConnection) -> None:
        self.hub.detach(session_id, conn)
        await connection_closed(self, session_id)


class WebSocketConnection:
    """One WebSocket: the I/O around its `ClientConnection`; also the hub `Member` that pumps
    events to it."""

    __slots__ = (
        "again",
        "busy",
        "carried",
        "closed",
        "handler",
        "joined",
        "pending",
        "protocol",
        "pump",
        "send",
        "since",
        "stalled",
        "target",
        "task",
    )

    def __init__(self, handler: WebSocketHandler, send: Send, address: str) -> None:
        limits = handler.limits
        self.handler = handler
        self.joined = False
        """In its session's hub, and counted by the service as one of its connections."""
        self.send = send
        self.protocol = ClientConnection(
            limits,
            Mode.SOCKET,
            pace=Pace(limits.commands_per_second, limits.command_burst, time.monotonic()),
            logins=handler.logins,
            address=address,
        )
        self.target = 0
        """The highest seq the bus announced that may not have been read yet."""
        self.carried: list[dict[str, Any]] = []
        """Events the bus notices carried, seq-ordered without holes, not written yet."""
        self.pump: asyncio.Task[None] | None = None
        """The running pump, if any."""
        self.again = False
        self.closed = False
        self.stalled = False
        self.busy = False
        """The handler is running a command (never cancelled then: it stops at its next write)."""
        self.pending: list[str] | None = None
        self.task: asyncio.Task[Any] | None = None
        self.since = 0.0
        """When the write in progress began (`time.monotonic()`)."""

    @property
    def cursor(self) -> int:
        return self.protocol.cursor

    # -- hub member -----------------------------------------------------------------------

    def wake(self, seq: int, events: tuple[dict[str, Any], ...] = ()) -> None:
        if seq > self.protocol.cursor and not self.closed:
            if seq > self.target:
                self.target = seq
            if events:
                carry(self.carried, events, self.handler.limits.max_events_per_read)
            self.kick()

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        if self.closed:
            return
        pending = self.pending
        if pending is None:
            self.pending = [text]
        else:
            if len(pending) >= self.handler.limits.max_pending_ephemeral:
                del pending[0]
            pending.append(text)
        self.kick()

    def kick(self) -> None:
        if self.pump is not None:
            self.again = True
        else:
            self.pump = spawn(self._pump(), name="ws.pump")

    # -- pump -----------------------------------------------------------------------------

    async def _pump(self) -> None:
        metrics = self.handler.metrics
        try:
            while not self.closed:
                self.again = False
                if self.target > self.cursor:
                    announced, self.target = self.target, 0
                    if not await self._drain(announced):
                        return
                pending = self.pending
                if pending:
                    self.pending = None
                    for text in pending:
                        if not await self.write(text):
                            return
                        metrics.ws_ephemeral.inc()
                if not self.again:
                    return
        finally:
            self.pump = None

    async def _drain(self, announced: int = 0) -> bool:
        """Write every logged event after the cursor (those the bus carried without reading
        the log); False when the connection is over."""
        carried, self.carried = self.carried, []
        drained = await drain(self.handler, self.protocol, self._write_event, carried, announced)
        if drained is Drained.ENDED and self.protocol.close_now:
            await self.close(CloseCode.SESSION_ENDED)
            return False
        return drained is not Drained.OVER  # ENDED during a command: the handler closes

    async def _write_event(self, text: str, seq: int | None) -> bool:
        if not await self.write(text):
            return False
        if seq is not None:
            self.handler.metrics.ws_events.inc()
        return True

    # -- writes ---------------------------------------------------------------------------

    async def write(self, text: str) -> bool:
        """Send one text frame; False when the connection is closed or too slow."""
        if self.closed:
            return False
        writing = self.handler.writing
        self.since = time.monotonic()
        writing.add(self)
        try:
            await self.send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError):  # the client left, or a close was already sent
            self.closed = True
            return False
        finally:
            writing.discard(self)
        return not self.stalled

    async def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            async with asyncio.timeout(self.handler.limits.slow_consumer_seconds):
                await self.send({"type": "websocket.close", "code": code})
        except (TimeoutError, OSError, RuntimeError):
            pass

    def stall(self) -> None:
        """Give up on a client that does not read: stop its pump and its handler."""
        if self.stalled:
            return
        _log.info("ws.slow_consumer", session_id=self.protocol.session_id)
        self.closed = True
        self.stalled = True
        if self.pump is not None and self.pump is not asyncio.current_task():
            self.pump.cancel()
        task = self.task
        if task is not None and not self.busy and task is not asyncio.current_task():
            task.cancel()
