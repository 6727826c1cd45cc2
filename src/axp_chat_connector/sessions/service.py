"""`SessionService`: the client commands' room, and what the transports call
(`transports/service.py::ClientService`: `execute`, `session_of_token`, `events_after`,
`last_seq`, `connection_opened`, `connection_closed`).

A command: idempotency claim → step the lifecycle → the room that does it (`login.py`,
`axp_session.py`, `chat.py`, `messages.py`) → the answer. Every command with an `id` on a
bound session is claimed in the store first; a repeat gets the stored answer and causes no
second AXP call. `login` is not deduplicated (no session exists to key it on, and sharing
answers across clients would leak tokens).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

from axp_chat_connector.errors import Busy, ConnectorError, Gap, Internal
from axp_chat_connector.protocol import codec, frames
from axp_chat_connector.protocol.codes import SessionEndReason
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.chat import Chats
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.lifecycle import COMMAND_INPUT, Input, Outcome, step
from axp_chat_connector.sessions.login import Logins
from axp_chat_connector.sessions.messages import Messages
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.replies import Answer, Bound
from axp_chat_connector.store.base import ClaimState, Store

__all__ = ["Answer", "Bound", "SessionService"]

_PENDING_WAIT: Final = 5.0
_PENDING_POLL: Final = 0.05
_NO_IDEMPOTENCY: Final = (frames.Ack, frames.Ping)
TOUCH_SHARE: Final = 0.01
"""A session is marked active at most once per this share of `session_idle_timeout`."""


class SessionService:
    def __init__(
        self,
        *,
        records: SessionRecords,
        logins: Logins,
        axp_sessions: AxpSessions,
        chats: Chats,
        messages: Messages,
        store: Store,
        config: ServiceConfig,
    ) -> None:
        self.records = records
        self.logins = logins
        self.axp_sessions = axp_sessions
        self.chats = chats
        self.messages = messages
        self.store = store
        self.config = config
        self._local_connections: dict[str, int] = {}
        self._touched: dict[str, float] = {}
        """When this instance last marked each session active (`_touch`)."""

    # -- transports ------------------------------------------------------------------------
    async def execute(self, command: frames.Command, *, session_id: str | None) -> Answer:
        """Run one client command; client errors come back as `error` frames."""
        re = command.id
        try:
            if isinstance(command, frames.Login):
                return await self.logins.login(command)
            if isinstance(command, frames.Resume):
                return await self.logins.resume(command)
            if session_id is None:
                raise Internal("command on an unbound connection")
            await self._touch(session_id)
            if isinstance(command, _NO_IDEMPOTENCY) or re is None:
                frame = await self._run(command, session_id)
                return Answer(frame if re is not None else {})
            return Answer(await self._once(command, session_id, re))
        except ConnectorError as exc:
            return Answer(codec.error(exc, re))

    async def session_of_token(self, token: str) -> str:
        return await self.logins.session_of_token(token)

    async def events_after(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        found = await self.store.read_events(session_id, after, limit)
        if found and found[0]["seq"] == after + 1:
            return found
        oldest = await self.store.oldest_seq(session_id)
        if after + 1 < oldest:
            raise Gap(oldest)
        return found

    async def last_seq(self, session_id: str) -> int:
        return await self.store.last_seq(session_id)

    async def connection_opened(self, session_id: str) -> None:
        self._local_connections[session_id] = self._local_connections.get(session_id, 0) + 1
        await self._touch(session_id)

    async def connection_closed(self, session_id: str) -> None:
        left = self._local_connections.get(session_id, 0) - 1
        if left <= 0:
            self._local_connections.pop(session_id, None)
        else:
            self._local_connections[session_id] = left
        await self._touch(session_id)

    async def _touch(self, session_id: str) -> None:
        """Mark the session active (the idle sweep's clock), at most once per
        `TOUCH_SHARE` of the idle timeout per session: a long poll answered every second, or
        a customer typing fast, need not write the store each time (the idle end may come
        that share of the timeout early)."""
        now = self.records.clock()
        if now - self._touched.get(session_id, -math.inf) < self._touch_every:
            return
        self._touched[session_id] = now
        await self.store.touch_session(session_id, now=now)

    def connected_sessions(self) -> list[str]:
        """Sessions with a connection on this instance (kept active by the sweeper). Called
        every sweep: forgets touches older than the throttle's window, too."""
        floor = self.records.clock() - self._touch_every
        for session_id in [s for s, at in self._touched.items() if at < floor]:
            del self._touched[session_id]
        return list(self._local_connections)

    @property
    def _touch_every(self) -> float:
        return self.config.session_idle_timeout * TOUCH_SHARE

    # -- idempotency -----------------------------------------------------------------------
    async def _once(self, command: frames.Command, session_id: str, re: str) -> dict[str, Any]:
        store, ttl = self.store, self.config.idempotency_ttl
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _PENDING_WAIT
        while True:
            claim = await store.claim_command(session_id, re, ttl=ttl)
            if claim.state is ClaimState.DONE and claim.answer is not None:
                return claim.answer
            if claim.state is ClaimState.NEW:
                break
            if loop.time() > deadline:
                raise Busy("the same command is still running")
            await asyncio.sleep(_PENDING_POLL)
        try:
            frame = await self._run(command, session_id)
        except ConnectorError as exc:
            frame = codec.error(exc, re)
            if exc.retryable:
                # nothing durable happened that a retry would double: let it run again
                await store.release_command(session_id, re)
                return frame
        except BaseException:
            await store.release_command(session_id, re)
            raise
        await store.complete_command(session_id, re, frame, ttl=ttl)
        return frame

    async def _run(self, command: frames.Command, session_id: str) -> dict[str, Any]:
        record, _ = await self.records.load(session_id)
        move = step(record.phase, COMMAND_INPUT[command.type])
        match command:
            case frames.Context():
                await self.axp_sessions.update_parameters(record, dict(command.parameters))
            case frames.Identify():
                identifiers = {k: list(v) for k, v in command.identifiers.items()}
                await self.axp_sessions.append_identifiers(record, identifiers)
            case frames.Start():
                return await self.chats.start(command, record, move.outcome)
            case frames.Send():
                return await self.messages.send(command, record)
            case frames.History():
                return await self.messages.history(command, record)
            case frames.End():
                if move.outcome is Outcome.PROCEED:
                    await self.chats.end(session_id, Input.END)
            case frames.Logout():
                if move.outcome is Outcome.PROCEED:
                    await self.logins.logout(session_id, SessionEndReason.USER_CLOSED)
            case frames.Ack():
                last = await self.store.last_seq(session_id)
                await self.store.trim_events(session_id, min(command.seq, last))
            case frames.Ping():
                pass
            case _:
                raise Internal(f"unexpected command {command.type}")
        return codec.ok(command.id)
