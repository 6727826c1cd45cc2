"""The timers' room: the sweeper fires the sessions' timers (chat idle warning and end, token
renewal, the messageIndex hold, purge of ended sessions), ends idle sessions, and gives up on
parked webhook events that never found their chat. Safe on many instances: the store leases
each due timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import structlog

from axp_chat_connector.errors import ConnectorError, StoreUnavailable
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import SessionEndReason
from axp_chat_connector.sessions import timers
from axp_chat_connector.sessions.chat import Chats
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.lifecycle import Input, Outcome, attempt
from axp_chat_connector.sessions.login import Logins
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.store.base import Deadline, Store

_log = structlog.get_logger(__name__)
_BATCH: Final = 100


class Sweeper:
    def __init__(
        self,
        *,
        records: SessionRecords,
        chats: Chats,
        logins: Logins,
        hold: MessageHold,
        store: Store,
        config: ServiceConfig,
        connected_sessions: Callable[[], list[str]],
        unroutable: Callable[[], None] | None = None,
        sessions_connected: Callable[[int], None] | None = None,
    ) -> None:
        self.records = records
        self.chats = chats
        self.logins = logins
        self.hold = hold
        self.store = store
        self.config = config
        self.connected_sessions = connected_sessions
        self.unroutable = unroutable
        """Told of each parked event dropped because its chat never came (a counter)."""
        self.sessions_connected = sessions_connected
        """Told, each sweep, how many sessions have a connection here (a gauge)."""
        self._last_keepalive = 0.0

    async def run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except StoreUnavailable as exc:
                _log.warning("sweeper.store_unavailable", error=str(exc))
            await asyncio.sleep(self.config.sweep_interval)

    async def sweep_once(self) -> None:
        store, now = self.store, self.records.clock()
        for deadline in await store.due_deadlines(now, _BATCH):
            try:
                await self._fire(deadline)
            except ConnectorError as exc:
                _log.warning("sweeper.timer_failed", kind=deadline.kind, error=exc.code)
                continue
            await store.clear_deadline(deadline.session_id, deadline.kind, at=deadline.at)
        await self._keep_connected_alive(now)
        timeout = self.config.session_idle_timeout
        for session_id in await store.idle_sessions(now - timeout, _BATCH):
            await self._session_idle(session_id)
        for parked in await store.expired_parked(now, _BATCH):
            if self.unroutable is not None:
                self.unroutable()
            _log.warning("webhook.unroutable", event_type=parked.get("eventType"))

    async def _fire(self, deadline: Deadline) -> None:
        session_id, kind = deadline.session_id, deadline.kind
        match kind:
            case timers.CHAT_IDLE_WARNING:
                await self._warn_idle_chat(session_id)
            case timers.CHAT_IDLE:
                await self.chats.end(session_id, Input.CHAT_IDLE)
            case timers.TOKEN_RENEW:
                await self.logins.renew_token(session_id)
            case timers.MESSAGE_HOLD:
                await self.hold.expire(session_id)
            case timers.PURGE:
                await self.store.delete_session(session_id)
            case _:
                _log.warning("sweeper.unknown_timer", kind=kind)

    async def _warn_idle_chat(self, session_id: str) -> None:
        """Step CHAT_IDLE_WARNING: while the chat is open, `chat.idle` and the end timer."""
        record, _ = await self.records.load(session_id)
        move = attempt(record.phase, Input.CHAT_IDLE_WARNING)
        if move is None or move.outcome is not Outcome.PROCEED:
            return
        now = self.records.now()
        ends_at = now + timedelta(seconds=self.config.idle_warning)
        await self.store.set_deadline(session_id, timers.CHAT_IDLE, ends_at.timestamp())
        await self.records.append(session_id, [events.chat_idle(now, ends_at=ends_at)])

    async def _keep_connected_alive(self, now: float) -> None:
        """Sessions with a connection here are not idle, whoever else looks at them."""
        if self.sessions_connected is not None:
            self.sessions_connected(len(self.connected_sessions()))
        every = self.config.session_idle_timeout / 3
        if now - self._last_keepalive < every:
            return
        self._last_keepalive = now
        for session_id in self.connected_sessions():
            await self.store.touch_session(session_id, now=now)

    async def _session_idle(self, session_id: str) -> None:
        """Step SESSION_IDLE: an active session ends (as a logout would); one already ending
        or ended is only touched, so it is not looked at again at once."""
        try:
            record, _ = await self.records.load(session_id)
        except ConnectorError:
            return
        move = attempt(record.phase, Input.SESSION_IDLE)
        if move is None or move.outcome is not Outcome.PROCEED:
            await self.store.touch_session(session_id, now=self.records.clock())
            return
        _log.info("session.idle", session_id=session_id)
        try:
            await self.logins.logout(session_id, SessionEndReason.USER_INACTIVE)
        except ConnectorError as exc:
            _log.warning("session.idle_logout_failed", session_id=session_id, error=exc.code)
