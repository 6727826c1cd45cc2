"""The messageIndex hold on a session record: messages of a dialog go out in AXP's order
(`ordering.py` decides; `through_hold` applies that to a record, for the writer that holds the
record; `MessageHold` expires it when its timer fires and sets that timer)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from axp_chat_connector.sessions import ordering
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.timers import MESSAGE_HOLD
from axp_chat_connector.store.base import Store


@dataclass(frozen=True, slots=True)
class Passed:
    """A record after a message went into its hold: what came out, when to look again."""

    record: SessionRecord
    shown: list[dict[str, Any]]
    deadline: datetime | None


def through_hold(
    record: SessionRecord,
    dialog_id: str | None,
    index: int | None,
    item: dict[str, Any] | None,
    now: datetime,
    window: timedelta,
) -> Passed:
    """Pass a message (or None: an index with nothing to show) through the dialog's hold."""
    if dialog_id is not None and record.dialog_id not in (None, dialog_id):
        return Passed(record, [] if item is None else [item], None)  # an older dialog
    out = ordering.offer(record.hold, index, item, now, window)
    shown = [m for m in out.items if m is not None]
    held = record if out.hold == record.hold else replace(record, hold=out.hold)
    return Passed(held, shown, out.deadline)


class MessageHold:
    def __init__(self, *, records: SessionRecords, store: Store, config: ServiceConfig) -> None:
        self.records = records
        self.store = store
        self.window = timedelta(seconds=config.hold_window)

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
        await self.set_timer(session_id, deadline)

    async def set_timer(self, session_id: str, deadline: datetime | None) -> None:
        if deadline is not None:
            await self.store.set_deadline(session_id, MESSAGE_HOLD, deadline.timestamp())
