"""A fake `SessionService` for transport tests: an in-memory event log per session, tokens
`tok-<session>`, and just enough command behaviour to drive the transports."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import ConnectorError, Gap, NotFound, Unauthorized
from axp_chat_connector.protocol.codec import error, ok
from axp_chat_connector.protocol.codes import CloseCode
from axp_chat_connector.protocol.frames import Ack, Command, Login, Logout, Resume, Send
from axp_chat_connector.sessions.service import Answer, Bound

_YIELD = 0  # one turn of the event loop


class FakeService:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.oldest: dict[str, int] = {}
        """Events before this seq are no longer kept (Gap)."""
        self.ended: set[str] = set()
        self.opened: dict[str, int] = {}
        self.closed: dict[str, int] = {}
        self.executed: list[tuple[str, str | None]] = []
        self.end_on_logout = False
        self._ids = itertools.count(1)

    # -- helpers for tests ----------------------------------------------------------------

    def new_session(self) -> str:
        session_id = f"s{next(self._ids)}"
        self.logs[session_id] = []
        return session_id

    async def append(self, session_id: str, event_type: str = "message", **fields: Any) -> int:
        log = self.logs[session_id]
        seq = len(log) + 1
        log.append({"type": event_type, "at": "2026-01-01T00:00:00Z", "seq": seq, **fields})
        if event_type == "session.ended":
            self.ended.add(session_id)
        await self.bus.publish(session_id, seq)
        return seq

    def live(self, session_id: str) -> int:
        return self.opened.get(session_id, 0) - self.closed.get(session_id, 0)

    # -- ClientService --------------------------------------------------------------------

    async def execute(self, command: Command, *, session_id: str | None) -> Answer:
        self.executed.append((command.type.value, session_id))
        if isinstance(command, Login):
            new = self.new_session()
            return Answer(
                ok(command.id, sessionId=new, token=f"tok-{new}", seq=0, heartbeat=20),
                bound=Bound(new, 0),
            )
        if isinstance(command, Resume):
            try:
                resumed = await self.session_of_token(command.token)
            except ConnectorError as exc:
                return Answer(error(exc, command.id))
            last = len(self.logs[resumed])
            return Answer(
                ok(command.id, sessionId=resumed, seq=last, token=command.token),
                bound=Bound(resumed, command.after),
            )
        assert session_id is not None
        if isinstance(command, Ack) and command.id is None:
            return Answer({})
        if isinstance(command, Send):
            await self.append(session_id, clientMessageId=command.id, text=command.text)
            return Answer(ok(command.id, status="accepted"))
        if isinstance(command, Logout):
            self.ended.add(session_id)
            if self.end_on_logout:  # as the real service: an event, no close code
                await self.append(session_id, "session.ended", reason="USER_CLOSED")
                await asyncio.sleep(_YIELD)  # let the pump run before the answer is written
                return Answer(ok(command.id))
            return Answer(ok(command.id), close_code=CloseCode.SESSION_ENDED)
        return Answer(ok(command.id))

    async def session_of_token(self, token: str) -> str:
        session_id = token.removeprefix("tok-")
        if not token.startswith("tok-") or session_id not in self.logs:
            raise Unauthorized("unknown token")
        if session_id in self.ended:
            raise NotFound("the session has ended")
        return session_id

    async def events_after(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        oldest = self.oldest.get(session_id, 1)
        if after + 1 < oldest:
            raise Gap(oldest)
        return self.logs[session_id][after : after + limit]

    async def last_seq(self, session_id: str) -> int:
        return len(self.logs[session_id])

    async def connection_opened(self, session_id: str) -> None:
        self.opened[session_id] = self.opened.get(session_id, 0) + 1

    async def connection_closed(self, session_id: str) -> None:
        self.closed[session_id] = self.closed.get(session_id, 0) + 1
