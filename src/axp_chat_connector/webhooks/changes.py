"""What one mapped AXP event does to its session, as values (no I/O): the record after it, the
events to append with it in one atomic write, and what to do once that write is done.

`mapping.map_event` decides; this applies its decisions to the record as read: the messageIndex
hold (`Order`, and the echo of a `SettleOutbox`), the participants it changed, the chat closing
(`EndChat` steps CHAT_CLOSED in the lifecycle table).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, assert_never

from axp_chat_connector.sessions.hold import through_hold
from axp_chat_connector.sessions.lifecycle import Input, Outcome, attempt
from axp_chat_connector.sessions.mapping import (
    ArmChatIdle,
    Broadcast,
    CheckEngagement,
    ConfirmStart,
    Emit,
    EndChat,
    Mapped,
    Order,
    Park,
    SettleOutbox,
)
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.settlement import echo, settle_key


@dataclass
class Changes:
    record: SessionRecord
    events: list[dict[str, Any]] = field(default_factory=list)
    dedupe_key: str | None = None
    """Set for our own send's callback: the write settles it (`settlement.settle_key`)."""
    # after the write
    hold_deadline: datetime | None = None
    chat_closed: bool = False
    arm_chat_idle: bool = False
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    check: CheckEngagement | None = None
    settled: str | None = None
    """The `providerMessageId` this write settles (its outbox item can go)."""

    def writes(self, before: SessionRecord) -> bool:
        return bool(self.events) or self.record != before


def changes(
    record: SessionRecord,
    mapped: Mapped,
    now: datetime,
    window: timedelta,
    *,
    already_settled: bool = False,
) -> Changes:
    """The changes `mapped` makes to `record`. `already_settled`: a `SettleOutbox` found its
    send settled already (only the hold sees its index go by)."""
    out = Changes(replace(record, participants=mapped.chat.participants))

    def hold(item: dict[str, Any] | None) -> None:
        passed = through_hold(out.record, mapped.dialog_id, mapped.index, item, now, window)
        out.record, out.hold_deadline = passed.record, passed.deadline
        out.events += passed.shown

    for decision in mapped.decisions:
        match decision:
            case Emit(event=event):
                out.events.append(event)
            case Order(event=event):
                hold(event)
            case SettleOutbox() if already_settled:
                hold(None)
            case SettleOutbox(provider_message_id=pmid, content=content):
                hold(echo(record, pmid, content, mapped.index, decision.message_id, now))
                out.dedupe_key, out.settled = settle_key(pmid), pmid
            case ArmChatIdle():
                out.arm_chat_idle = True
            case Broadcast(event=event):
                out.broadcasts.append(event)
            case EndChat(event=event):
                move = attempt(out.record.phase, Input.CHAT_CLOSED)
                if move is not None and move.outcome is Outcome.PROCEED:
                    out.record = replace(out.record, chat=move.phase.chat, participants=frozenset())
                    out.events.append(event)
                    out.chat_closed = True
            case CheckEngagement():
                out.check = decision
            case ConfirmStart():
                pass  # `start` finds its dialog itself (List Engagements after a lost answer)
            case Park():
                raise ValueError("a parked event changes nothing yet")
            case _:  # pragma: no cover - exhaustive
                assert_never(decision)
    return out
