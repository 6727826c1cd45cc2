"""What the transport shells share around the pure `ClientConnection`: running a command
through the service, and the HTTP edge of long polling and SSE (problem answers, the bearer
token, Origin, bounded numbers in the query)."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, ClassVar, Final

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from axp_chat_connector.errors import (
    BadRequest,
    ConnectorError,
    Forbidden,
    Gap,
    RateLimited,
    Unauthorized,
    to_problem,
)
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.protocol.frames import SEQ_MAX, Resume
from axp_chat_connector.security_log import Kind, SecurityLog
from axp_chat_connector.transports.admission import Holds, LoginGate
from axp_chat_connector.transports.connection import ClientConnection, Delivery, Frame, Run
from axp_chat_connector.transports.hub import Hub
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.service import ClientService

_log = structlog.get_logger(__name__)

_SEQ_DIGITS: Final = len(str(SEQ_MAX))
_REFUSAL_KINDS: Final = {
    Unauthorized.code: Kind.BAD_TOKEN,
    Forbidden.code: Kind.ORIGIN_REFUSED,
    RateLimited.code: Kind.RATE_LIMITED,
}

Write = Callable[[str, int | None], Awaitable[bool]]
"""Write one frame's text (with its seq when durable); False when the connection is over."""


@dataclass(frozen=True, slots=True)
class Parts:
    """What every transport shell is given."""

    service: ClientService
    hub: Hub
    limits: TransportLimits
    metrics: Metrics
    logins: LoginGate
    """Logins per client address and per instance, for every transport."""
    addresses: Holds
    """WebSockets, SSE streams and held long polls open now per client address."""
    security: SecurityLog
    """Where refusals that may be an attack are counted and logged (throttled)."""


class Shell:
    transport: ClassVar[str]
    """The transport's metrics label: websocket, sse, longpoll."""

    def __init__(self, parts: Parts) -> None:
        self.service = parts.service
        self.hub = parts.hub
        self.limits = parts.limits
        self.metrics = parts.metrics
        self.logins = parts.logins
        self.addresses = parts.addresses
        self.security = parts.security

    def refused(self, exc: ConnectorError, address: str) -> Response:
        """The problem answer for `exc`, reported to the security log when it may be an
        attack (a bad token, an origin refused, a rate exceeded)."""
        kind = _REFUSAL_KINDS.get(exc.code)
        if kind is not None:
            self.security.report(kind, address)
        return problem(exc)

    def watch(self, frame: Frame, address: str) -> None:
        """Report an `error` frame that may be an attack to the security log."""
        kind = _REFUSAL_KINDS.get(frame.get("code", ""))
        if kind is not None:
            self.security.report(kind, address)


class Drained(Enum):
    CAUGHT_UP = auto()
    """Every event after the cursor was written (or the log cannot be read now: the hub's
    re-check retries)."""
    OVER = auto()
    """A write failed: the connection is over."""
    ENDED = auto()
    """`session.ended` was written: the stream ends (`conn.close_now` says whether at once)."""


def carry(carried: list[dict[str, Any]], events: Sequence[dict[str, Any]], limit: int) -> None:
    """Add a notice's `events` to those a connection holds to write: kept only while they
    follow on without a hole (else all are dropped: the drain reads the log) and at most
    `limit` of them."""
    if carried and events[0]["seq"] != carried[-1]["seq"] + 1:
        carried.clear()
        return
    carried.extend(events)
    if len(carried) > limit:
        carried.clear()


async def drain(
    shell: Shell,
    conn: ClientConnection,
    write: Write,
    carried: Sequence[dict[str, Any]] = (),
    announced: int = 0,
) -> Drained:
    """Write every logged event after the connection's cursor, in seq order, a `gap` frame
    first when the log no longer holds them. `carried`: events the bus notices brought (from
    `carry`); when they start right after the cursor they are written without reading the
    log, which is then read only if the notices announced more (`announced`: the highest seq
    they named)."""
    session_id = conn.session_id
    assert session_id is not None
    limit = shell.limits.max_events_per_read
    fresh = [event for event in carried if event["seq"] > conn.cursor]
    if fresh and fresh[0]["seq"] == conn.cursor + 1:
        for event in fresh:
            drained = await _deliver(shell, conn, event, write)
            if drained is not None:
                return drained
        if conn.cursor >= announced:
            return Drained.CAUGHT_UP
    while True:
        try:
            events = await shell.service.events_after(session_id, conn.cursor, limit)
        except Gap as exc:
            shell.metrics.gap(shell.transport)
            frame = conn.gap(exc)
            if frame is None:  # nothing to skip: the log disagrees
                _log.warning("transport.gap_without_skip", session_id=session_id)
                return Drained.CAUGHT_UP
            if not await write(encode(frame), None):
                return Drained.OVER
            continue
        except ConnectorError as exc:
            _log.warning("transport.read_failed", session_id=session_id, error=exc.code)
            return Drained.CAUGHT_UP
        for event in events:
            drained = await _deliver(shell, conn, event, write)
            if drained is not None:
                return drained
        if len(events) < limit:
            return Drained.CAUGHT_UP


async def _deliver(
    shell: Shell, conn: ClientConnection, event: dict[str, Any], write: Write
) -> Drained | None:
    delivery = conn.accept(event)
    if delivery is Delivery.SKIP:
        return None
    session_id = conn.session_id
    assert session_id is not None
    seq = event["seq"]
    if not await write(shell.hub.encode(session_id, event), seq):
        return Drained.OVER
    shell.metrics.delivered(session_id, seq)
    return Drained.ENDED if delivery is Delivery.LAST else None


async def connection_closed(shell: Shell, session_id: str) -> None:
    """Tell the service a connection of `session_id` is gone (a failure is only logged)."""
    try:
        await shell.service.connection_closed(session_id)
    except ConnectorError as exc:
        _log.warning("transport.closed_failed", session_id=session_id, error=exc.code)


async def run_command(
    service: ClientService, conn: ClientConnection, run: Run, metrics: Metrics, transport: str
) -> Frame:
    """Run the command the connection handed out; the frame to write (empty: none)."""
    command = run.command
    try:
        frame = conn.answered(await service.execute(command, session_id=run.session_id))
    except ConnectorError as exc:
        frame = conn.failed(exc)
    except Exception:  # a bug in the service: answer, log, keep the connection
        _log.exception("transport.command_failed", command=command.type.value)
        frame = conn.failed(ConnectorError())
    metrics.command(command.type.value, frame)
    if isinstance(command, Resume):
        metrics.resume_answered(transport, command.after, frame)
    return frame


async def client_gone(receive: Receive) -> None:
    """Return when the HTTP client has disconnected (the request body already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def problem(exc: ConnectorError) -> Response:
    """An RFC 9457 answer for `exc` (with `Retry-After` when rate limited)."""
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return Response(
        json.dumps(to_problem(exc), separators=(",", ":")),
        status_code=exc.http_status,
        media_type="application/problem+json",
        headers=headers,
    )


def client_host(request: Request) -> str:
    """The client's address of an HTTP request (forwarded headers from trusted proxies are
    applied by `create_app`'s proxy-header middleware)."""
    return request.client.host if request.client else ""


def check_origin(limits: TransportLimits, request: Request) -> None:
    if not limits.origin_allowed(request.headers.get("origin")):
        raise Forbidden("origin not allowed")


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without the header."""
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    return token


def seq_param(params: Mapping[str, str], name: str, value: str | None = None) -> int:
    """A seq from the query (or `value`): an integer in [0, SEQ_MAX], else `BadRequest`."""
    raw = params.get(name, "0") if value is None else value
    text = raw.strip()
    if not text.isdigit() or not text.isascii() or len(text) > _SEQ_DIGITS:
        raise BadRequest(f"{name} must be an integer from 0 to {SEQ_MAX}")
    seq = int(text)
    if seq > SEQ_MAX:
        raise BadRequest(f"{name} must be an integer from 0 to {SEQ_MAX}")
    return seq
