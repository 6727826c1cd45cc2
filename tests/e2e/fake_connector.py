"""A small fake of the connector's client side (PROTOCOL.md §2-6), for browser tests of the SDK
and the widget while the real connector is being built. It keeps sessions, numbered durable
events, answers each command id once (a repeated id gets the first answer), speaks WebSocket
and long polling, and lets a test play the agent, drop connections or block WebSocket.

It is a test double, not a reference: it has no AXP behind it and checks little."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

Frame = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Session:
    session_id: str
    token: str
    customer: Frame
    parameters: dict[str, str]
    events: list[Frame] = field(default_factory=list)
    answers: dict[str, Frame] = field(default_factory=dict)
    chat_open: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Connection:
    websocket: WebSocket
    session: Session | None = None


class FakeConnector:
    def __init__(self, web_dir: Path, poll_wait_cap: float = 2.0) -> None:
        self.web_dir = web_dir
        self.poll_wait_cap = poll_wait_cap
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.commands: list[Frame] = []
        self.executed: list[Frame] = []
        self.websocket_blocked = False
        self.websocket_opened = 0
        self.poll_requests = 0
        self.cut_after_next: str | None = None  # command type: record it, answer nothing, drop
        self.refused_id_tokens: set[str] = set()  # a login with one of these: `unauthorized`
        self._ids = itertools.count(1)

    # ---- what a test does ---------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The newest session."""
        return list(self.sessions.values())[-1]

    def commands_of(self, kind: str) -> list[Frame]:
        return [c for c in self.commands if c.get("type") == kind]

    async def agent_joins(self, name: str = "Jane Doe") -> None:
        who = {"id": "agent-1", "type": "AGENT", "name": name}
        await self.emit(self.session, {"type": "participant.joined", "participant": who})

    async def agent_says(self, text: str, **extra: Any) -> None:
        await self.emit(
            self.session,
            {
                "type": "message",
                "messageId": f"m{next(self._ids)}",
                "from": {"id": "agent-1", "type": "AGENT", "name": "Jane Doe"},
                "elementType": "text",
                "text": text,
                "format": "PLAINTEXT",
                **extra,
            },
        )

    async def emit(self, session: Session, event: Frame, *, durable: bool = True) -> None:
        event = {"at": _now(), **event}  # a test may give its own time
        if durable:
            event["seq"] = len(session.events) + 1
            session.events.append(event)
            session.changed.set()
            session.changed = asyncio.Event()
        for conn in list(self.connections):
            if conn.session is session:
                with contextlib.suppress(Exception):
                    await conn.websocket.send_json(event)

    async def drop_connections(self, code: int = 1012) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.websocket.close(code=code)
        self.connections.clear()

    @property
    def open_websockets(self) -> int:
        return len(self.connections)

    # ---- the protocol --------------------------------------------------------------------

    def _session_of_token(self, token: str | None) -> Session | None:
        return next((s for s in self.sessions.values() if s.token == token), None)

    async def _command(self, frame: Frame, session: Session | None) -> tuple[Frame, Session | None]:
        """Answer one command; returns the answer and the session it binds (if any)."""
        self.commands.append(frame)
        kind = frame.get("type")
        cid = frame.get("id")
        if kind == "login":
            if isinstance(cid, str) and session is not None and cid in session.answers:
                return session.answers[cid], session
            if frame.get("idToken") in self.refused_id_tokens:
                return self._error(cid, "unauthorized", "idToken expired"), None
            new = Session(
                session_id=f"S{next(self._ids)}",
                token=uuid.uuid4().hex,
                customer=dict(frame.get("customer") or {}),
                parameters=dict(frame.get("parameters") or {}),
            )
            self.sessions[new.session_id] = new
            answer = self._ok(cid, sessionId=new.session_id, token=new.token, seq=0, heartbeat=25)
            answer["expiresAt"] = "2099-01-01T00:00:00Z"
            if isinstance(cid, str):
                new.answers[cid] = answer
            self.executed.append(frame)
            return answer, new
        if kind == "resume":
            found = self._session_of_token(frame.get("token"))
            if found is None:
                return self._error(cid, "not_found", "no such session"), None
            answer = self._ok(cid, sessionId=found.session_id, seq=len(found.events))
            answer |= {"token": found.token, "expiresAt": "2099-01-01T00:00:00Z"}
            return answer, found
        if session is None:
            return self._error(cid, "unauthorized", "login or resume first"), None
        if isinstance(cid, str) and cid in session.answers:
            return session.answers[cid], session
        answer = await self._execute(frame, session)
        if isinstance(cid, str):
            session.answers[cid] = answer
        return answer, session

    async def _execute(self, frame: Frame, session: Session) -> Frame:
        self.executed.append(frame)
        kind = frame.get("type")
        cid = frame.get("id")
        if kind in {"context", "identify", "ping"}:
            session.parameters |= dict(frame.get("parameters") or {})
            return self._ok(cid)
        if kind == "start":
            if not session.chat_open:
                session.chat_open = True
                asyncio.get_running_loop().call_soon(
                    lambda: asyncio.ensure_future(
                        self.emit(session, {"type": "chat.started", "engagementId": "E1"})
                    )
                )
            return self._ok(cid, engagementId="E1", dialogId="D1")
        if kind == "send":
            if not session.chat_open:
                return self._error(cid, "invalid_state", "no chat is open")
            echo: Frame = {
                "type": "message",
                "messageId": f"m{next(self._ids)}",
                "clientMessageId": cid,
                "from": {"id": "customer", "type": "CUSTOMER"},
                "format": "PLAINTEXT",
            }
            if "reply" in frame or "postback" in frame:
                selected = dict(frame.get("reply") or frame.get("postback") or {})
                echo |= {
                    "elementType": "reply" if "reply" in frame else "postback",
                    "text": selected.get("text", ""),
                    "richMedia": {"selectedAction": selected},
                }
            else:
                echo |= {"elementType": "text", "text": frame.get("text", "")}
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.emit(session, echo))
            )
            return self._ok(cid, status="accepted")
        if kind == "end":
            if session.chat_open:
                session.chat_open = False
                ended = {"type": "chat.ended", "by": "customer", "reason": "USER_CLOSED"}
                asyncio.get_running_loop().call_soon(
                    lambda: asyncio.ensure_future(self.emit(session, ended))
                )
            return self._ok(cid)
        if kind == "history":
            messages = [
                {k: v for k, v in e.items() if k != "seq"}
                for e in session.events
                if e["type"] == "message"
            ]
            return self._ok(cid, messages=messages[-50:])
        return self._error(cid, "bad_request", f"unknown type {kind!r}")

    @staticmethod
    def _ok(cid: Any, **fields: Any) -> Frame:
        return {"type": "ok", "re": cid, **fields}

    @staticmethod
    def _error(cid: Any, code: str, message: str) -> Frame:
        return {"type": "error", "re": cid, "code": code, "message": message, "retryable": False}

    # ---- transports ----------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        if self.websocket_blocked:
            await websocket.close(code=1008)  # before accept: the handshake fails (HTTP 403)
            return
        await websocket.accept()
        self.websocket_opened += 1
        conn = Connection(websocket)
        self.connections.append(conn)
        try:
            while True:
                frame = await websocket.receive_json()
                if self.cut_after_next is not None and frame.get("type") == self.cut_after_next:
                    self.cut_after_next = None
                    self.commands.append(frame)
                    await websocket.close(code=1011)
                    return
                answer, bound = await self._command(frame, conn.session)
                await websocket.send_json(answer)
                if frame.get("type") == "resume" and bound is not None:
                    after = int(frame.get("after") or 0)
                    for event in bound.events[after:]:
                        await websocket.send_json(event)
                if bound is not None:
                    conn.session = bound
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if conn in self.connections:
                self.connections.remove(conn)

    async def _poll_commands(self, request: Request) -> Response:
        body = await request.json()
        frames = body if isinstance(body, list) else [body]
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        session = self._session_of_token(token or None)
        answers = []
        for frame in frames:
            answer, bound = await self._command(frame, session)
            session = bound or session
            answers.append(answer)
        return JSONResponse(answers)

    async def _poll_events(self, request: Request) -> Response:
        self.poll_requests += 1
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        session = self._session_of_token(token or None)
        if session is None:
            return JSONResponse({"code": "unauthorized"}, status_code=401)
        after = int(request.query_params.get("after", "0"))
        wait = min(float(request.query_params.get("wait", "25")), self.poll_wait_cap)
        if len(session.events) <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.changed.wait(), wait)
        return JSONResponse({"events": session.events[after:], "seq": len(session.events)})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/v1/ws", self._websocket),
                Route("/v1/poll/commands", self._poll_commands, methods=["POST"]),
                Route("/v1/poll/events", self._poll_events, methods=["GET"]),
                Mount("/web", StaticFiles(directory=self.web_dir, html=True)),
            ]
        )
