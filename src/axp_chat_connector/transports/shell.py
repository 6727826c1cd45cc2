"""What the transport shells share around the pure `ClientConnection`: running a command
through the service, and the HTTP edge of long polling and SSE (problem answers, the bearer
token, Origin, bounded numbers in the query)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Final

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from axp_chat_connector.errors import (
    BadRequest,
    ConnectorError,
    Forbidden,
    RateLimited,
    Unauthorized,
    to_problem,
)
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol.frames import SEQ_MAX
from axp_chat_connector.transports.connection import ClientConnection, Frame, Run
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.service import ClientService

_log = structlog.get_logger(__name__)

_SEQ_DIGITS: Final = len(str(SEQ_MAX))


async def run_command(
    service: ClientService, conn: ClientConnection, run: Run, metrics: Metrics
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
