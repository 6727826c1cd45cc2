"""`GET /v1/ws`: the WebSocket transport, a raw ASGI callable (PROTOCOL.md §6).

Served before Starlette's middleware stack (see `app.py`) to keep an idle socket small: one
coroutine per connection (the one awaiting `receive`), its state in a `__slots__` object, no
other task while idle. Heartbeats are uvicorn's WebSocket pings (timers, `uvicorn_options`).

A connection:
- checks `Origin` before accepting (refused: the handshake is answered 403);
- must bind (`login`/`resume`) within `bind_timeout` (close 4408); other commands before
  that get `unauthorized`, after it `login`/`resume` get `invalid_state` (`lifecycle.admit`);
- answers every command exactly once with the service's frame (nothing for `{}`: an `ack`
  without id); a frame that is not a command gets `bad_request` (with `re` when its id could be
  read), a binary frame `bad_request`, a frame over `max_frame_bytes` close 4413; commands over
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
from axp_chat_connector.errors import (
    BadRequest,
    ConnectorError,
    Gap,
    NotFound,
    RateLimited,
    TooLarge,
)
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol.codec import InvalidFrame, encode, error, parse_command
from axp_chat_connector.protocol.codes import EventType
from axp_chat_connector.sessions.lifecycle import Binding, admit
from axp_chat_connector.sessions.service import Answer, Bound
from axp_chat_connector.transports.hub import Hub
from axp_chat_connector.transports.limits import TokenBucket, TransportLimits
from axp_chat_connector.transports.service import ClientService

_log = structlog.get_logger(__name__)

CLOSE_BIND_TIMEOUT = 4408
CLOSE_SESSION_ENDED = NotFound.close_code
SESSION_ENDED = EventType.SESSION_ENDED.value
CLOSE_TOO_LARGE = TooLarge.close_code
CLOSE_RATE_LIMITED = RateLimited.close_code


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class WebSocketHandler:
    """The ASGI callable for `/v1/ws` (websocket scopes only)."""

    def __init__(
        self, service: ClientService, hub: Hub, limits: TransportLimits, metrics: Metrics
    ) -> None:
        self.service = service
        self.hub = hub
        self.limits = limits
        self.metrics = metrics
        self.connections = 0
        self.writing: set[Connection] = set()
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
        if not self.limits.origin_allowed(header(scope, b"origin")):
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await send({"type": "websocket.accept"})
        conn = Connection(self, send)
        conn.task = asyncio.current_task()
        self.connections += 1
        self.metrics.ws_connections.inc()
        deadline = asyncio.get_running_loop().time() + self.limits.bind_timeout
        try:
            while not conn.closed:
                if conn.session_id is None:
                    try:
                        async with asyncio.timeout_at(deadline):
                            message = await receive()
                    except TimeoutError:
                        await conn.close(CLOSE_BIND_TIMEOUT)
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
            if conn.session_id is not None:
                await self._unbind(conn.session_id, conn)

    async def _frame(self, conn: Connection, message: Message) -> bool:
        """Handle one received frame; False when the connection is over."""
        text = message.get("text")
        if text is None:
            return await conn.write(encode(error(BadRequest("binary frames are not accepted"))))
        try:
            command = parse_command(text, max_bytes=self.limits.max_frame_bytes)
        except TooLarge:
            await conn.close(CLOSE_TOO_LARGE)
            return False
        except InvalidFrame as exc:
            frame = error(exc)
            self.metrics.command("invalid", frame)
            return await conn.write(encode(frame))
        wait = conn.bucket.take()
        if wait:
            conn.strikes += 1
            if conn.strikes >= self.limits.flood_strikes:
                await conn.close(CLOSE_RATE_LIMITED)
                return False
            frame = error(RateLimited("too many commands", retry_after=wait), command.id)
            self.metrics.command(command.type.value, frame)
            return await conn.write(encode(frame))
        conn.strikes = 0
        answer: Answer | None = None
        conn.busy = conn.answering = True  # busy: not to be cancelled half-way by the watchdog
        try:
            admit(Binding.UNBOUND if conn.session_id is None else Binding.BOUND, command.type)
            answer = await self.service.execute(command, session_id=conn.session_id)
            frame = answer.frame
        except ConnectorError as exc:
            frame = error(exc, command.id)
        except Exception:  # a bug in the service: answer, log, keep the connection
            _log.exception("ws.command_failed", command=command.type.value)
            frame = error(ConnectorError(), command.id)
        finally:
            conn.busy = False
        self.metrics.command(command.type.value, frame)
        if frame:
            if not await conn.write(encode(frame)):
                return False
            self.metrics.ws_answers.inc()
        conn.answering = False
        if conn.ending:  # the command ended the session (logout): its answer went first
            await conn.close(CLOSE_SESSION_ENDED)
            return False
        if answer is None:
            return True
        bound = answer.bound
        if bound is not None and conn.session_id is None and not await self._bind(conn, bound):
            return False
        if answer.close_code is not None:
            await conn.close(answer.close_code)
            return False
        return True

    async def _bind(self, conn: Connection, bound: Bound) -> bool:
        session_id = bound.session_id
        conn.session_id = session_id
        conn.cursor = bound.after
        conn.target = sys.maxsize  # read the log once whatever the bus says
        try:
            await self.hub.attach(session_id, conn)
        except ConnectorError as exc:
            _log.warning("ws.attach_failed", session_id=session_id, error=exc.code)
            await conn.close(exc.close_code)
            return False
        try:
            await self.service.connection_opened(session_id)
        except ConnectorError as exc:
            _log.warning("ws.opened_failed", session_id=session_id, error=exc.code)
        conn.kick()
        return True

    async def _unbind(self, session_id: str, conn: Connection) -> None:
        self.hub.detach(session_id, conn)
        try:
            await self.service.connection_closed(session_id)
        except ConnectorError as exc:
            _log.warning("ws.closed_failed", session_id=session_id, error=exc.code)


class Connection:
    """One WebSocket's state; also the hub `Member` that pumps events to it."""

    __slots__ = (
        "again",
        "answering",
        "bucket",
        "busy",
        "closed",
        "cursor",
        "ending",
        "handler",
        "pending",
        "pump",
        "send",
        "session_id",
        "since",
        "stalled",
        "strikes",
        "target",
        "task",
    )

    def __init__(self, handler: WebSocketHandler, send: Send) -> None:
        limits = handler.limits
        self.handler = handler
        self.send = send
        self.session_id: str | None = None
        self.cursor = 0
        self.target = 0
        """The highest seq the bus announced that may not have been read yet."""
        self.pump: asyncio.Task[None] | None = None
        """The running pump, if any."""
        self.again = False
        self.closed = False
        self.stalled = False
        self.busy = False
        self.answering = False
        """A command is being run or answered: a `session.ended` close waits for its answer."""
        self.ending = False
        """The handler is running a command (never cancelled then: it stops at its next write)."""
        self.bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self.strikes = 0
        self.pending: list[str] | None = None
        self.task: asyncio.Task[Any] | None = None
        self.since = 0.0
        """When the write in progress began (`time.monotonic()`)."""

    # -- hub member -----------------------------------------------------------------------

    def wake(self, seq: int) -> None:
        if seq > self.cursor and not self.closed:
            if seq > self.target:
                self.target = seq
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
                    self.target = 0
                    if not await self._drain():
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

    async def _drain(self) -> bool:
        """Write every logged event after the cursor; False when the connection is over."""
        handler = self.handler
        session_id = self.session_id
        assert session_id is not None
        limit = handler.limits.max_events_per_read
        metrics = handler.metrics
        while True:
            try:
                events = await handler.service.events_after(session_id, self.cursor, limit)
            except Gap as exc:
                if exc.oldest_seq - 1 <= self.cursor:  # nothing to skip: the log disagrees
                    _log.warning("ws.gap_without_skip", session_id=session_id, seq=exc.oldest_seq)
                    return True
                if not await self.write(encode(error(exc))):
                    return False
                self.cursor = exc.oldest_seq - 1
                continue
            except ConnectorError as exc:  # the store is down: the hub's re-check retries
                _log.warning("ws.read_failed", session_id=session_id, error=exc.code)
                return True
            for event in events:
                seq = event["seq"]
                if seq <= self.cursor:
                    continue
                if not await self.write(handler.hub.encode(session_id, event)):
                    return False
                self.cursor = seq
                metrics.ws_events.inc()
                metrics.delivered(session_id, seq)
                if event["type"] == SESSION_ENDED:
                    if self.answering:  # the handler closes once its answer is out
                        self.ending = True
                        return True
                    await self.close(CLOSE_SESSION_ENDED)
                    return False
            if len(events) < limit:
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
        _log.info("ws.slow_consumer", session_id=self.session_id)
        self.closed = True
        self.stalled = True
        if self.pump is not None and self.pump is not asyncio.current_task():
            self.pump.cancel()
        task = self.task
        if task is not None and not self.busy and task is not asyncio.current_task():
            task.cancel()
