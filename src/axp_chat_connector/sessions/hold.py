"""The messageIndex hold with its I/O: messages of a dialog go out in AXP's order
(`ordering.py` decides; this writes the decision and sets the hold's timer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from axp_chat_connector.sessions import ordering
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import Loaded, SessionRecords
from axp_chat_connector.sessions.timers import MESSAGE_HOLD
from axp_chat_connector.store.base import Store


class MessageHold:
    def __init__(self, *, records: SessionRecords, store: Store, config: ServiceConfig) -> None:
        self.records = records
        self.store = store
        self.window = timedelta(seconds=config.hold_window)

    async def offer(
        self,
        session_id: str,
        dialog_id: str | None,
        index: int | None,
        item: dict[str, Any] | None,
        *,
        loaded: Loaded | None = None,
        settling: str | None = None,
    ) -> None:
        """Pass a message (or None: an index with nothing to show) through the dialog's hold.

        `settling`: the `providerMessageId` of the send this echo settles; it leaves the
        session's outbox in the same write, so AXP's callback for it sees it either still
        pending (and leaves it to us) or settled with its index already through the hold."""
        now = self.records.now()
        deadline: datetime | None = None

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            nonlocal deadline
            outbox = current.outbox
            if settling is not None and settling in outbox:
                outbox = {k: v for k, v in outbox.items() if k != settling}
            if dialog_id is not None and current.dialog_id not in (None, dialog_id):
                deadline = None  # an older dialog: no order to keep
                shown = [] if item is None else [item]
                if outbox is current.outbox and not shown:
                    return None
                return replace(current, outbox=outbox), shown
            out = ordering.offer(current.hold, index, item, now, self.window)
            deadline = out.deadline
            shown = [m for m in out.items if m is not None]
            if out.hold == current.hold and outbox is current.outbox and not shown:
                return None  # nothing to remember: no write
            return replace(current, hold=out.hold, outbox=outbox), shown

        await self.records.change_and_append(session_id, edit, loaded=loaded)
        await self._set_timer(session_id, deadline)

    async def expire(self, session_id: str) -> None:
        """The hold's timer fired: give up waiting for the missing indexes that are overdue."""
        now = self.records.now()
        deadline: datetime | None = None

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            nonlocal deadline
            out = ordering.expire(current.hold, now, self.window)
            deadline = out.deadline
            if not out.items:
                return None
            return replace(current, hold=out.hold), [m for m in out.items if m is not None]

        await self.records.change_and_append(session_id, edit)
        await self._set_timer(session_id, deadline)

    async def _set_timer(self, session_id: str, deadline: datetime | None) -> None:
        if deadline is not None:
            await self.store.set_deadline(session_id, MESSAGE_HOLD, deadline.timestamp())
