"""Ending a chat, and ending a session: each once, through the lifecycle table.

Every path that ends a chat (the customer's `end`, chat inactivity, the agent leaving, AXP
reporting the chat over, a logout, AXP forgetting the session) comes here, so `chat.ended` and
`session.ended` are each written once, by the writer whose step moved the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy, SessionEndReason
from axp_chat_connector.sessions.lifecycle import Input, Outcome, step
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.timers import Timers

_log = structlog.get_logger(__name__)


class Closing:
    def __init__(self, *, records: SessionRecords, timers: Timers) -> None:
        self.records = records
        self.timers = timers

    async def close_chat(
        self, session_id: str, ended_event: dict[str, Any], *, extra: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Step CHAT_CLOSED; when it proceeds (the chat was live), record it together with
        `extra` events and `chat.ended`, once. False when the chat had already ended."""

        def edit(record: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            move = step(record.phase, Input.CHAT_CLOSED)
            if move.outcome is not Outcome.PROCEED:
                return None
            closed = replace(record, chat=move.phase.chat, participants=frozenset())
            return closed, [*extra, ended_event]

        if await self.records.change_and_append(session_id, edit) is None:
            return False
        await self.timers.chat_ended(session_id)
        _log.info("chat.ended", session_id=session_id, by=ended_event.get("by"))
        return True

    async def finish_session(self, session_id: str, reason: SessionEndReason) -> None:
        """Step SESSION_CLOSED (the logout or the inactivity end is done): record the session
        ENDED with `session.ended` (once), clear its timers, and let it be purged after
        `ended_session_keep`."""
        ended = events.session_ended(self.records.now(), reason=reason)

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            move = step(current.phase, Input.SESSION_CLOSED)
            if move.outcome is not Outcome.PROCEED:
                return None
            return replace(current, state=move.phase.session, chat=move.phase.chat), [ended]

        if await self.records.change_and_append(session_id, edit) is None:
            return
        await self.timers.session_ended(session_id)
        _log.info("session.ended", session_id=session_id, reason=reason.value)

    async def axp_forgot_session(self, session_id: str) -> bool:
        """AXP forgot the customer's session while a chat was open (PROTOCOL §3): step
        AXP_SESSION_GONE; when it says END_CHAT_AND_SESSION, `chat.ended` (system) and
        `session.ended` (UNKNOWN) in one write, once. True when this call ended them."""
        now = self.records.now()

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            move = step(current.phase, Input.AXP_SESSION_GONE)
            if move.outcome is not Outcome.END_CHAT_AND_SESSION:
                return None
            chat_ended = chat_ended_event(
                current, now, by=EndedBy.SYSTEM, reason=ChatEndReason.SYSTEM_CLOSED
            )
            session_ended = events.session_ended(now, reason=SessionEndReason.UNKNOWN)
            ended = replace(
                current, state=move.phase.session, chat=move.phase.chat, participants=frozenset()
            )
            return ended, [chat_ended, session_ended]

        if await self.records.change_and_append(session_id, edit) is None:
            return False
        await self.timers.chat_ended(session_id)
        await self.timers.session_ended(session_id)
        _log.info("session.ended", session_id=session_id, reason=SessionEndReason.UNKNOWN.value)
        return True


def chat_ended_event(
    record: SessionRecord, now: datetime, *, by: EndedBy, reason: ChatEndReason
) -> dict[str, Any]:
    return events.chat_ended(
        now, engagement_id=record.engagement_id, dialog_id=record.dialog_id, by=by, reason=reason
    )
