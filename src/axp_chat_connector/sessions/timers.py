"""The sessions' timers: their kinds, and the few ways the session layer sets and clears them.
The sweeper (`sweeper.py`) fires them."""

from __future__ import annotations

from typing import Final

from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.records import Clock
from axp_chat_connector.store.base import Store

CHAT_IDLE_WARNING: Final = "chat_idle_warning"
CHAT_IDLE: Final = "chat_idle"
TOKEN_RENEW: Final = "token_renew"  # noqa: S105 (a timer name)
MESSAGE_HOLD: Final = "message_hold"
PURGE: Final = "purge"

CHAT_TIMERS: Final = (CHAT_IDLE_WARNING, CHAT_IDLE, MESSAGE_HOLD)
"""Cleared when a chat ends."""
SESSION_TIMERS: Final = (TOKEN_RENEW, CHAT_IDLE, CHAT_IDLE_WARNING)
"""Cleared when a session ends (the purge is set then)."""


def chat_idle_warning_at(now: float, config: ServiceConfig) -> float:
    """When the chat idle warning fires for a chat last active at `now`: the end of the chat
    inactivity timeout less the warning's lead (the sweeper sets the end when it fires)."""
    return now + config.chat_idle_timeout - config.idle_warning


class Timers:
    def __init__(self, *, store: Store, config: ServiceConfig, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    async def arm_chat_idle(self, session_id: str) -> None:
        """(Re)start the chat inactivity clock: one timer, the warning; the sweeper sets the
        end when the warning fires, and a customer send clears both. (The webhook intake arms
        it with its write instead: `chat_idle_warning_at` in `update_session_and_append`'s
        `deadlines`.)"""
        at = chat_idle_warning_at(self.clock(), self.config)
        await self.store.set_deadline(session_id, CHAT_IDLE_WARNING, at)

    async def customer_active(self, session_id: str) -> None:
        """A customer send: the chat is not idle (until the next agent message arms it)."""
        for kind in (CHAT_IDLE_WARNING, CHAT_IDLE):
            await self.store.clear_deadline(session_id, kind)

    async def renew_token_before(self, session_id: str, expires_at: float) -> None:
        """A fresh token goes out in-band (`session.token`) a while before this one expires:
        `token_renew_before`, or a fifth of the lifetime if that is shorter."""
        config = self.config
        before = min(
            config.token_renew_before.total_seconds(), config.token_ttl.total_seconds() / 5
        )
        await self.store.set_deadline(session_id, TOKEN_RENEW, expires_at - before)

    async def chat_ended(self, session_id: str) -> None:
        for kind in CHAT_TIMERS:
            await self.store.clear_deadline(session_id, kind)

    async def session_ended(self, session_id: str) -> None:
        for kind in SESSION_TIMERS:
            await self.store.clear_deadline(session_id, kind)
        await self.store.set_deadline(
            session_id, PURGE, self.clock() + self.config.ended_session_keep
        )
