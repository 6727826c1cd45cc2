"""The sweeper: fires the sessions' timers (chat idle warning and end, token renewal, the
messageIndex hold, purge of ended sessions), ends idle sessions, and gives up on parked webhook
events that never found their chat. Safe on many instances: the store leases each due timer.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

import structlog

from axp_chat_connector.errors import ConnectorError, StoreUnavailable
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import SessionEndReason
from axp_chat_connector.sessions.core import (
    CHAT_IDLE,
    SessionCore,
)
from axp_chat_connector.sessions.lifecycle import ChatState, SessionState
from axp_chat_connector.sessions.service import SessionService
from axp_chat_connector.store.base import Deadline

_log = structlog.get_logger(__name__)
_BATCH: Final = 100


class Sweeper:
    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.core: SessionCore = service.core
        self.unroutable = 0
        self._last_keepalive = 0.0

    async def run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except StoreUnavailable as exc:
                _log.warning("sweeper.store_unavailable", error=str(exc))
            await asyncio.sleep(self.core.config.sweep_interval)

    async def sweep_once(self) -> None:
        core, now = self.core, self.core.clock()
        for deadline in await core.store.due_deadlines(now, _BATCH):
            try:
                await self._fire(deadline)
            except ConnectorError as exc:
                _log.warning("sweeper.timer_failed", kind=deadline.kind, error=exc.code)
                continue
            await core.store.clear_deadline(deadline.session_id, deadline.kind, at=deadline.at)
        await self._keep_connected_alive(now)
        timeout = core.config.session_idle_timeout
        for session_id in await core.store.idle_sessions(now - timeout, _BATCH):
            await self._session_idle(session_id)
        for parked in await core.store.expired_parked(now, _BATCH):
            self.unroutable += 1
            _log.warning("webhook.unroutable", event_type=parked.get("eventType"))

    async def _fire(self, deadline: Deadline) -> None:
        session_id, kind = deadline.session_id, deadline.kind
        match kind:
            case "chat_idle_warning":
                record, _ = await self.core.load(session_id)
                if record.chat is not ChatState.OPEN:
                    return
                warning = self.core.config.idle_warning
                ends_at = self.core.now() + timedelta(seconds=warning)
                await self.core.store.set_deadline(session_id, CHAT_IDLE, ends_at.timestamp())
                await self.core.append(
                    session_id, [events.chat_idle(self.core.now(), ends_at=ends_at)]
                )
            case "chat_idle":
                await self.service.end_idle_chat(session_id)
            case "token_renew":
                await self.service.renew_token(session_id)
            case "message_hold":
                await self.service.inbound.expire_hold(session_id)
            case "purge":
                await self.core.store.delete_session(session_id)
            case _:
                _log.warning("sweeper.unknown_timer", kind=kind)

    async def _keep_connected_alive(self, now: float) -> None:
        """Sessions with a connection here are not idle, whoever else looks at them."""
        every = self.core.config.session_idle_timeout / 3
        if now - self._last_keepalive < every:
            return
        self._last_keepalive = now
        for session_id in self.service.connected_sessions():
            await self.core.store.touch_session(session_id, now=now)

    async def _session_idle(self, session_id: str) -> None:
        try:
            record, _ = await self.core.load(session_id)
        except ConnectorError:
            return
        if record.state is not SessionState.ACTIVE:
            await self.core.store.touch_session(session_id, now=self.core.clock())
            return
        _log.info("session.idle", session_id=session_id)
        try:
            await self.service.logout(session_id, SessionEndReason.USER_INACTIVE)
        except ConnectorError as exc:
            _log.warning("session.idle_logout_failed", session_id=session_id, error=exc.code)
