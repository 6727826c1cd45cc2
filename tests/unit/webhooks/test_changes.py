"""`webhooks.changes`: what a mapped event does to its session record, without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.ids import DialogId, EngagementId, SessionId
from axp_chat_connector.sessions.lifecycle import ChatState, SessionState
from axp_chat_connector.sessions.mapping import (
    ArmChatIdle,
    Broadcast,
    ChatView,
    CheckEngagement,
    ConfirmStart,
    Decision,
    Emit,
    EndChat,
    Mapped,
    Order,
    Park,
    SettleOutbox,
)
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.sends import SendContent
from axp_chat_connector.webhooks.changes import changes

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=1)
RECORD = SessionRecord(
    session_id=SessionId("s-1"),
    state=SessionState.ACTIVE,
    display_name="Ada",
    identifiers={},
    parameters={},
    axp_session_id=None,
    chat=ChatState.OPEN,
    engagement_id=EngagementId("e-1"),
    dialog_id=DialogId("d-1"),
    participants=frozenset({"agent-c"}),
)
SENT = SendContent("text", "hi", "PLAINTEXT")


def message(index: int, text: str) -> dict[str, Any]:
    return {"type": "message", "index": index, "text": text}


def mapped(*decisions: Decision, index: int | None = None, chat: ChatView | None = None) -> Mapped:
    view = RECORD.chat_view() if chat is None else chat
    return Mapped(view, decisions, index, "d-1")


def test_messages_go_through_the_hold_in_index_order() -> None:
    first = changes(RECORD, mapped(Order(message(2, "second")), index=2), NOW, WINDOW)
    assert first.events == []  # index 1 has not been seen
    assert first.hold_deadline == NOW + WINDOW
    assert first.writes(RECORD)

    second = changes(first.record, mapped(Order(message(1, "first")), index=1), NOW, WINDOW)
    assert [e["text"] for e in second.events] == ["first", "second"]
    assert second.hold_deadline is None


def test_a_customer_index_only_moves_the_hold_on() -> None:
    result = changes(RECORD, mapped(Order(None), index=1), NOW, WINDOW)
    assert result.events == []
    assert result.record.hold.last == 1


def test_emits_broadcasts_and_follow_ups_are_collected() -> None:
    check = CheckEngagement("e-1", "d-1")
    typing = events.typing(NOW, {"id": "agent-p", "type": "AGENT"})
    result = changes(
        RECORD,
        mapped(
            Emit({"type": "x"}), Broadcast(typing), ArmChatIdle(), check, ConfirmStart("e", "d")
        ),
        NOW,
        WINDOW,
    )
    assert result.events == [{"type": "x"}]
    assert result.broadcasts == [typing]
    assert (result.arm_chat_idle, result.check, result.chat_closed) == (True, check, False)


def test_participants_come_from_the_mapping() -> None:
    view = replace(RECORD.chat_view(), participants=frozenset())
    result = changes(RECORD, mapped(chat=view), NOW, WINDOW)
    assert result.record.participants == frozenset()
    assert result.writes(RECORD)
    assert not changes(RECORD, mapped(), NOW, WINDOW).writes(RECORD)


def test_end_chat_steps_chat_closed_once() -> None:
    ended = {"type": "chat.ended"}
    result = changes(RECORD, mapped(Emit({"type": "chat.error"}), EndChat(ended)), NOW, WINDOW)
    assert result.record.chat is ChatState.ENDED
    assert result.record.participants == frozenset()
    assert result.events == [{"type": "chat.error"}, ended]
    assert result.chat_closed

    again = changes(result.record, mapped(EndChat(ended)), NOW, WINDOW)
    assert (again.events, again.chat_closed) == ([], False)


def test_our_send_is_echoed_with_its_settle_key() -> None:
    settle = SettleOutbox("s-1:c-9", 1, "m-1", SENT)
    result = changes(RECORD, mapped(settle, index=1), NOW, WINDOW)
    assert result.dedupe_key == "settle:s-1:c-9"
    assert result.settled == "s-1:c-9"
    [echo] = result.events
    assert (echo["clientMessageId"], echo["text"], echo["from"]["type"]) == (
        "c-9",
        "hi",
        "CUSTOMER",
    )


def test_a_send_settled_already_only_moves_the_hold_on() -> None:
    settle = SettleOutbox("s-1:c-9", 1, "m-1", SENT)
    result = changes(RECORD, mapped(settle, index=1), NOW, WINDOW, already_settled=True)
    assert (result.events, result.dedupe_key, result.settled) == ([], None, None)
    assert result.record.hold.last == 1


def test_a_parked_event_has_no_changes() -> None:
    with pytest.raises(ValueError, match="parked"):
        changes(RECORD, mapped(Park()), NOW, WINDOW)
