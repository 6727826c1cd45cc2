"""Long polling (PROTOCOL.md §6): `POST /v1/poll/commands` and `GET /v1/poll/events`.

Each request is its own short-lived `ClientConnection` (mode `BATCH`; its pacing is kept per
session or client address between requests):
- `POST /v1/poll/commands`: one command or an array of up to `max_batch`; the answer is a JSON
  array of `ok`/`error` frames in the same order (an `ack` without `id` gets `{"type":"ok"}`).
  `login` and `resume` run unbound; the other commands run for the session named by the
  `Authorization: Bearer <token>` header, or bound by a `login`/`resume` earlier in the same
  batch; with neither they get `unauthorized` frames. A bad token: 401 problem (ended
  session: 404). Commands are paced per session (per client address before login):
  `rate_limited` frames, and a 429 problem once `flood_strikes` were refused in a row, until
  the client's bucket has refilled (a refusal spends no token: a client that slows down below
  the rate gets through again).
- `GET /v1/poll/events?after=N&wait=S` (bearer): `{"events":[…],"seq":last}` at once if the log
  has events after N; else the request joins the hub and is held until the bus wakes it (no
  polling loop), `wait` (≤ `poll_max_wait`) passes, or the client leaves. Ephemeral events
  that arrive while held are included after the durable ones. `seq` is the session's last
  durable seq. Events no longer kept: 410 problem with code `gap` and `seq` (the oldest kept).
  `after` is an integer from 0 to `SEQ_MAX` (else 400). A session holds at most
  `max_held_per_session` polls and SSE streams at once (one more: 429 problem).
Both check `Origin` (403 problem); the POST needs `Content-Type: application/json` (else 415
problem: no cross-site "simple" form POST logs in) and a bounded body (413 problem). Errors
are RFC 9457 problem+json bodies from `errors.to_problem`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from axp_chat_connector.errors import BadRequest, ConnectorError, Gap, Unauthorized
from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.transports.admission import Holds
from axp_chat_connector.transports.body import JSON_TYPE, decode_json, read_body, require_json
from axp_chat_connector.transports.connection import (
    ClientConnection,
    Close,
    Delivery,
    Mode,
    Reply,
)
from axp_chat_connector.transports.pacing import Pace
from axp_chat_connector.transports.shell import (
    Parts,
    Shell,
    bearer_token,
    carry,
    check_origin,
    client_gone,
    client_host,
    connection_closed,
    problem,
    run_command,
    seq_param,
)

_log = structlog.get_logger(__name__)

NO_STORE: Final = {"Cache-Control": "no-store"}
"""Answers carry tokens (login, resume) and chat events: never kept by a cache."""
PACES_MAX: Final = 50_000
"""Rate-limit states remembered (least recently used dropped first)."""


class _Waiter:
    """A held `GET /v1/poll/events`, as a hub member."""

    __slots__ = ("announced", "carried", "cursor", "ephemerals", "future", "limit", "most")

    def __init__(self, after: int, limit: int, most: int) -> None:
        """`limit`: ephemeral events kept; `most`: carried events kept."""
        self.cursor = after
        self.limit = limit
        self.most = most
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ephemerals: list[str] = []
        self.carried: list[dict[str, Any]] = []
        """Events the bus notices carried (`shell.carry`)."""
        self.announced = 0
        """The highest seq the notices named."""

    def wake(self, seq: int, events: tuple[dict[str, Any], ...] = ()) -> None:
        if seq > self.cursor:
            self.announced = max(self.announced, seq)
            if events:
                carry(self.carried, events, self.most)
            if not self.future.done():
                self.future.set_result(None)

    def caught_up(self) -> list[dict[str, Any]] | None:
        """The events to answer with when the notices carried every one announced after the
        cursor; None when the log must be read."""
        fresh = [event for event in self.carried if event["seq"] > self.cursor]
        if fresh and fresh[0]["seq"] == self.cursor + 1 and fresh[-1]["seq"] >= self.announced:
            return fresh
        return None

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        if len(self.ephemerals) < self.limit:
            self.ephemerals.append(text)
        if not self.future.done():
            self.future.set_result(None)


async def _held(woken: asyncio.Future[None], request: Request, wait: float) -> bool:
    """Wait until `woken`, `wait` seconds, or the client leaving; False if it left."""
    gone = asyncio.ensure_future(client_gone(request.receive))
    try:
        await asyncio.wait((woken, gone), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not gone.done():
            gone.cancel()
    if not gone.done():
        return True
    gone.exception()  # retrieved: a failed read also means the client is gone
    return False


class LongPoll(Shell):
    transport = "longpoll"

    def __init__(self, parts: Parts, holds: Holds) -> None:
        super().__init__(parts)
        self.holds = holds
        """Held requests per session, shared by long polling and SSE."""
        self._paces: OrderedDict[str, Pace] = OrderedDict()

    def routes(self) -> list[Route]:
        return [
            Route("/v1/poll/commands", self.commands, methods=["POST"]),
            Route("/v1/poll/events", self.events, methods=["GET"]),
        ]

    # -- commands -------------------------------------------------------------------------

    async def commands(self, request: Request) -> Response:
        try:
            check_origin(self.limits, request)
            require_json(request)
            items = await self._batch(request)
            session_id = await self._session(request, required=False)
        except ConnectorError as exc:
            return self.refused(exc, client_host(request))
        address = client_host(request)
        conn = ClientConnection(
            self.limits,
            Mode.BATCH,
            pace=self._pace(session_id or f"ip:{address}"),
            session_id=session_id,
            logins=self.logins,
            address=address,
        )
        refused = conn.lockout(time.monotonic())
        if refused is not None:
            return self.refused(refused, address)
        answers = []
        for item in items:
            step = conn.receive_item(item, time.monotonic())
            if isinstance(step, Reply):
                frame = step.frame
                self.metrics.command(step.label, frame)
            else:
                assert not isinstance(step, Close), "a batch never closes"
                frame = await run_command(self.service, conn, step, self.metrics, self.transport)
                conn.answer_sent()
            self.watch(frame, address)
            answers.append(encode(frame))
        self.metrics.poll_answers.inc(len(answers))
        return Response("[" + ",".join(answers) + "]", media_type=JSON_TYPE, headers=NO_STORE)

    async def _batch(self, request: Request) -> list[Any]:
        data = decode_json(await read_body(request, self.limits.max_body_bytes))
        items = data if isinstance(data, list) else [data]
        if not 1 <= len(items) <= self.limits.max_batch:
            raise BadRequest(f"a batch holds 1 to {self.limits.max_batch} commands")
        return items

    def _pace(self, key: str) -> Pace:
        paces = self._paces
        pace = paces.get(key)
        if pace is None:
            limits = self.limits
            pace = paces[key] = Pace(
                limits.commands_per_second, limits.command_burst, time.monotonic()
            )
            if len(paces) > PACES_MAX:
                paces.popitem(last=False)
        else:
            paces.move_to_end(key)
        return pace

    # -- events ---------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        try:
            check_origin(self.limits, request)
            session_id = await self._session(request, required=True)
            assert session_id is not None
            after, wait = self._query(request)
            self.addresses.take(client_host(request))
        except ConnectorError as exc:
            return self.refused(exc, client_host(request))
        address = client_host(request)
        try:
            self.holds.take(session_id)
        except ConnectorError as exc:
            self.addresses.release(address)
            return self.refused(exc, address)
        try:
            return await self._hold(request, session_id, after, wait)
        finally:
            self.holds.release(session_id)
            self.addresses.release(address)

    async def _hold(self, request: Request, session_id: str, after: int, wait: float) -> Response:
        """Answer at once with the events after `after`, or hold until some come."""
        service = self.service
        limit = self.limits.max_events_per_read
        waiter = _Waiter(after, self.limits.max_pending_ephemeral, limit)
        try:
            await self.hub.attach(session_id, waiter)
        except ConnectorError as exc:
            return problem(exc)
        self.metrics.poll_connections.inc()
        try:
            await service.connection_opened(session_id)
            events = await service.events_after(session_id, after, limit)
            carried = None
            if not events and wait > 0:
                if not await _held(waiter.future, request, wait):
                    return Response(status_code=204)  # the client left: nobody reads this
                carried = waiter.caught_up()
                if carried is None and waiter.future.done():
                    events = await service.events_after(session_id, after, limit)
            if carried:  # the notice brought them all: no read of the log
                events, last = carried, carried[-1]["seq"]
            else:
                last = await service.last_seq(session_id)
        except ConnectorError as exc:
            if isinstance(exc, Gap):
                self.metrics.gap(self.transport)
            return problem(exc)
        finally:
            self.hub.detach(session_id, waiter)
            self.metrics.poll_connections.dec()
            await connection_closed(self, session_id)
        reader = ClientConnection(self.limits, Mode.BATCH, session_id=session_id, cursor=after)
        texts = self._deliver(reader, events)
        if waiter.ephemerals:
            self.metrics.poll_ephemeral.inc(len(waiter.ephemerals))
            texts.extend(waiter.ephemerals)
        body = '{"events":[' + ",".join(texts) + '],"seq":' + str(last) + "}"
        return Response(body, media_type=JSON_TYPE, headers=NO_STORE)

    def _deliver(self, conn: ClientConnection, events: list[dict[str, Any]]) -> list[str]:
        """The texts of the events after the connection's cursor, up to `session.ended`."""
        session_id = conn.session_id
        assert session_id is not None
        texts = []
        for event in events:
            delivery = conn.accept(event)
            if delivery is Delivery.SKIP:
                continue
            texts.append(self.hub.encode(session_id, event))
            self.metrics.delivered(session_id, event["seq"])
            if delivery is Delivery.LAST:
                break
        self.metrics.poll_events.inc(len(texts))
        return texts

    def _query(self, request: Request) -> tuple[int, float]:
        params = request.query_params
        after = seq_param(params, "after")
        try:
            wait = float(params.get("wait", str(self.limits.poll_default_wait)))
        except ValueError:
            raise BadRequest("wait must be a number of seconds") from None
        if not math.isfinite(wait) or wait < 0:
            raise BadRequest("wait must be a number of seconds, not negative")
        return after, min(wait, self.limits.poll_max_wait)

    async def _session(self, request: Request, *, required: bool) -> str | None:
        token = bearer_token(request)
        if token is None:
            if required:
                raise Unauthorized("a bearer token is required")
            return None
        return await self.service.session_of_token(token)
