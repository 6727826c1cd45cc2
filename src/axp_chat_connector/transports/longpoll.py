"""Long polling (PROTOCOL.md §6): `POST /v1/poll/commands` and `GET /v1/poll/events`.

Each request is its own short-lived connection:
- `POST /v1/poll/commands`: one command or an array of up to `max_batch`; the answer is a JSON
  array of `ok`/`error` frames in the same order (an `ack` without `id` gets `{"type":"ok"}`).
  `login` and `resume` run unbound; the other commands run for the session named by the
  `Authorization: Bearer <token>` header, or bound by a `login`/`resume` earlier in the same
  batch; with neither they get `unauthorized` frames. A bad token: 401 problem (ended
  session: 404). Commands are paced per session (per client address before login):
  `rate_limited` frames, and a 429 problem once `flood_strikes` were refused in a row.
- `GET /v1/poll/events?after=N&wait=S` (bearer): `{"events":[…],"seq":last}` at once if the log
  has events after N; else the request joins the hub and is held until the bus wakes it (no
  polling loop), `wait` (≤ `poll_max_wait`) passes, or the client leaves. Ephemeral events
  that arrive while held are included after the durable ones. `seq` is the session's last
  durable seq. Events no longer kept: 410 problem with code `gap` and `seq` (the oldest kept).
Both check `Origin` (403 problem) and bound the body (413 problem). Errors are RFC 9457
problem+json bodies from `errors.to_problem`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import OrderedDict
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from axp_chat_connector.errors import (
    BadRequest,
    ConnectorError,
    Forbidden,
    RateLimited,
    TooLarge,
    Unauthorized,
    to_problem,
)
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol.codec import InvalidFrame, encode, error, ok, parse_command
from axp_chat_connector.protocol.codes import CommandType
from axp_chat_connector.sessions.lifecycle import Binding, admit
from axp_chat_connector.transports.hub import Hub
from axp_chat_connector.transports.limits import TokenBucket, TransportLimits
from axp_chat_connector.transports.service import ClientService

_log = structlog.get_logger(__name__)

PACES_MAX: Final = 50_000
"""Rate-limit states remembered (least recently used dropped first)."""
_BINDING: Final = frozenset({CommandType.LOGIN, CommandType.RESUME})
_JSON: Final = "application/json"


def problem(exc: ConnectorError) -> Response:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return Response(
        json.dumps(to_problem(exc), separators=(",", ":")),
        status_code=exc.http_status,
        media_type="application/problem+json",
        headers=headers,
    )


class _Pace:
    __slots__ = ("bucket", "strikes")

    def __init__(self, limits: TransportLimits) -> None:
        self.bucket = TokenBucket(limits.commands_per_second, limits.command_burst)
        self.strikes = 0


class _Waiter:
    """A held `GET /v1/poll/events`, as a hub member."""

    __slots__ = ("cursor", "ephemerals", "future", "limit")

    def __init__(self, after: int, limit: int) -> None:
        self.cursor = after
        self.limit = limit
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ephemerals: list[str] = []

    def wake(self, seq: int) -> None:
        if seq > self.cursor and not self.future.done():
            self.future.set_result(None)

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        if len(self.ephemerals) < self.limit:
            self.ephemerals.append(text)
        if not self.future.done():
            self.future.set_result(None)


async def _held(woken: asyncio.Future[None], request: Request, wait: float) -> bool:
    """Wait until `woken`, `wait` seconds, or the client leaving; False if it left."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((woken, gone), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not gone.done():
            gone.cancel()
    if not gone.done():
        return True
    gone.exception()  # retrieved: a failed read also means the client is gone
    return False


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


class LongPoll:
    def __init__(
        self, service: ClientService, hub: Hub, limits: TransportLimits, metrics: Metrics
    ) -> None:
        self.service = service
        self.hub = hub
        self.limits = limits
        self.metrics = metrics
        self._paces: OrderedDict[str, _Pace] = OrderedDict()

    def routes(self) -> list[Route]:
        return [
            Route("/v1/poll/commands", self.commands, methods=["POST"]),
            Route("/v1/poll/events", self.events, methods=["GET"]),
        ]

    # -- commands -------------------------------------------------------------------------

    async def commands(self, request: Request) -> Response:
        try:
            self._check_origin(request)
            items = await self._batch(request)
            session_id = await self._session(request, required=False)
        except ConnectorError as exc:
            return problem(exc)
        pace = self._pace(session_id or f"ip:{request.client.host if request.client else ''}")
        if pace.strikes >= self.limits.flood_strikes and not pace.bucket.full():
            return problem(RateLimited("too many commands", retry_after=pace.bucket.take() or 1))
        answers = []
        for item in items:
            frame, bound = await self._one(item, session_id, pace)
            if bound is not None:
                session_id = bound
            answers.append(encode(frame))
        self.metrics.poll_answers.inc(len(answers))
        return Response("[" + ",".join(answers) + "]", media_type=_JSON)

    async def _one(
        self, item: Any, session_id: str | None, pace: _Pace
    ) -> tuple[dict[str, Any], str | None]:
        """Answer one command of a batch; (the frame, the session it bound, if any)."""
        try:
            if not isinstance(item, dict):
                raise InvalidFrame("command must be a JSON object")
            command = parse_command(encode(item), max_bytes=self.limits.max_frame_bytes)
        except TooLarge as exc:
            re = item.get("id") if isinstance(item, dict) else None
            frame = error(exc, re if isinstance(re, str) else None)
            self.metrics.command("invalid", frame)
            return frame, None
        except InvalidFrame as exc:
            frame = error(exc)
            self.metrics.command("invalid", frame)
            return frame, None
        kind = command.type
        wait = pace.bucket.take()
        if wait:
            pace.strikes += 1
            frame = error(RateLimited("too many commands", retry_after=wait), command.id)
            self.metrics.command(kind.value, frame)
            return frame, None
        pace.strikes = 0
        run_as = None if kind in _BINDING else session_id
        bound = None
        try:
            admit(Binding.UNBOUND if run_as is None else Binding.BOUND, kind)
            answer = await self.service.execute(command, session_id=run_as)
            frame = answer.frame or ok(None)
            if answer.bound is not None:
                bound = answer.bound.session_id
        except ConnectorError as exc:
            frame = error(exc, command.id)
        except Exception:  # a bug in the service: answer and log
            _log.exception("poll.command_failed", command=kind.value)
            frame = error(ConnectorError(), command.id)
        self.metrics.command(kind.value, frame)
        return frame, bound

    async def _batch(self, request: Request) -> list[Any]:
        limit = self.limits.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise TooLarge(f"body larger than {limit} bytes")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"body larger than {limit} bytes")
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except (ValueError, RecursionError):
            raise BadRequest("body is not valid UTF-8 JSON") from None
        items = data if isinstance(data, list) else [data]
        if not 1 <= len(items) <= self.limits.max_batch:
            raise BadRequest(f"a batch holds 1 to {self.limits.max_batch} commands")
        return items

    def _pace(self, key: str) -> _Pace:
        paces = self._paces
        pace = paces.get(key)
        if pace is None:
            pace = paces[key] = _Pace(self.limits)
            if len(paces) > PACES_MAX:
                paces.popitem(last=False)
        else:
            paces.move_to_end(key)
        return pace

    # -- events ---------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        try:
            self._check_origin(request)
            session_id = await self._session(request, required=True)
            assert session_id is not None
            after, wait = self._query(request)
        except ConnectorError as exc:
            return problem(exc)
        service = self.service
        limit = self.limits.max_events_per_read
        waiter = _Waiter(after, self.limits.max_pending_ephemeral)
        try:
            await self.hub.attach(session_id, waiter)
        except ConnectorError as exc:
            return problem(exc)
        self.metrics.poll_connections.inc()
        try:
            await service.connection_opened(session_id)
            events = await service.events_after(session_id, after, limit)
            if not events and wait > 0:
                if not await _held(waiter.future, request, wait):
                    return Response(status_code=204)  # the client left: nobody reads this
                if waiter.future.done():
                    events = await service.events_after(session_id, after, limit)
            last = await service.last_seq(session_id)
            texts = [self.hub.encode(session_id, event) for event in events]
        except ConnectorError as exc:
            return problem(exc)
        finally:
            self.hub.detach(session_id, waiter)
            self.metrics.poll_connections.dec()
            await self._closed(session_id)
        metrics = self.metrics
        if texts:
            metrics.poll_events.inc(len(texts))
            for event in events:
                metrics.delivered(session_id, event["seq"])
        if waiter.ephemerals:
            metrics.poll_ephemeral.inc(len(waiter.ephemerals))
            texts.extend(waiter.ephemerals)
        body = '{"events":[' + ",".join(texts) + '],"seq":' + str(last) + "}"
        return Response(body, media_type=_JSON)

    async def _closed(self, session_id: str) -> None:
        try:
            await self.service.connection_closed(session_id)
        except ConnectorError as exc:
            _log.warning("poll.closed_failed", session_id=session_id, error=exc.code)

    def _query(self, request: Request) -> tuple[int, float]:
        params = request.query_params
        try:
            after = int(params.get("after", "0"))
            wait = float(params.get("wait", str(self.limits.poll_default_wait)))
        except ValueError:
            raise BadRequest("after must be an integer and wait a number of seconds") from None
        if after < 0 or not math.isfinite(wait) or wait < 0:
            raise BadRequest("after and wait must not be negative")
        return after, min(wait, self.limits.poll_max_wait)

    # -- checks ---------------------------------------------------------------------------

    def _check_origin(self, request: Request) -> None:
        if not self.limits.origin_allowed(request.headers.get("origin")):
            raise Forbidden("origin not allowed")

    async def _session(self, request: Request, *, required: bool) -> str | None:
        value = request.headers.get("authorization")
        if value is None:
            if required:
                raise Unauthorized("a bearer token is required")
            return None
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required")
        return await self.service.session_of_token(token)
