"""Event builders of PROTOCOL.md §3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import (
    ChatEndReason,
    EndedBy,
    EventType,
    SessionEndReason,
)
from axp_chat_connector.protocol.frames import Seq

AT = datetime(2026, 11, 25, 13, 0, 5, 123456, tzinfo=UTC)
STAMP = "2026-11-25T13:00:05.123Z"
AGENT = events.participant("p1", "AGENT", "Andy")


def test_timestamps_are_utc_with_milliseconds() -> None:
    plus_two = datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert events.timestamp(plus_two) == "2026-01-01T00:00:00.000Z"
    assert events.timestamp(AT) == STAMP
    with pytest.raises(ValueError, match="timezone-aware"):
        events.timestamp(datetime(2026, 1, 1))


def test_participant_name_is_optional() -> None:
    assert events.participant("c", "UNKNOWN") == {"id": "c", "type": "UNKNOWN"}
    assert AGENT == {"id": "p1", "type": "AGENT", "name": "Andy"}


def test_every_event_has_type_and_at_and_only_typing_is_ephemeral() -> None:
    built = [
        events.chat_started(AT, engagement_id="e", dialog_id="d"),
        events.participant_joined(AT, AGENT),
        events.participant_left(AT, AGENT),
        events.message(AT, sender=AGENT, element_type="text", text="hi"),
        events.message_failed(AT, client_message_id="c", code="upstream_rejected", detail={}),
        events.typing(AT, AGENT),
        events.chat_ended(
            AT,
            engagement_id="e",
            dialog_id="d",
            by=EndedBy.AGENT,
            reason=ChatEndReason.AGENT_CLOSED,
        ),
        events.chat_error(AT, code="X", title="T"),
        events.chat_idle(AT, ends_at=AT + timedelta(seconds=60)),
        events.session_token(AT, token="t", expires_at=AT),
        events.session_ended(AT, reason=SessionEndReason.UNKNOWN),
    ]
    assert [e["type"] for e in built] == [t.value for t in EventType]
    assert all(e["at"] == STAMP and "seq" not in e for e in built)
    assert [not events.is_durable(e) for e in built] == [t is EventType.TYPING for t in EventType]


def test_with_seq_copies() -> None:
    event = events.chat_started(AT, engagement_id="e", dialog_id="d")
    sent = events.with_seq(event, Seq(4))
    assert sent == {**event, "seq": 4}
    assert "seq" not in event


def test_message_leaves_out_what_it_does_not_have() -> None:
    assert events.message(AT, sender=AGENT, element_type="text") == {
        "type": "message",
        "at": STAMP,
        "from": AGENT,
        "elementType": "text",
        "format": "PLAINTEXT",
    }


def test_message_with_everything() -> None:
    event = events.message(
        AT,
        sender=AGENT,
        element_type="text",
        text="hi",
        format="MARKDOWN",
        message_id="m",
        client_message_id="c",
        index=3,
        fallback_text="fb",
        payload="{}",
        rich_media={"actions": []},
        attachments=[{"attachmentId": "a"}],
    )
    assert event == {
        "type": "message",
        "at": STAMP,
        "messageId": "m",
        "clientMessageId": "c",
        "index": 3,
        "from": AGENT,
        "elementType": "text",
        "text": "hi",
        "format": "MARKDOWN",
        "fallbackText": "fb",
        "payload": "{}",
        "richMedia": {"actions": []},
        "attachments": [{"attachmentId": "a"}],
    }


def test_chat_events_fields() -> None:
    assert events.chat_ended(
        AT,
        engagement_id=None,
        dialog_id=None,
        by=EndedBy.SYSTEM,
        reason=ChatEndReason.SYSTEM_CLOSED,
    ) == {"type": "chat.ended", "at": STAMP, "by": "system", "reason": "SYSTEM_CLOSED"}
    assert events.chat_error(AT, code="X", title="T", detail="D")["detail"] == "D"
    assert "detail" not in events.chat_error(AT, code="X", title="T")
    assert events.chat_idle(AT, ends_at=AT)["endsAt"] == STAMP
    assert events.session_token(AT, token="t", expires_at=AT) == {
        "type": "session.token",
        "at": STAMP,
        "token": "t",
        "expiresAt": STAMP,
    }
    assert events.session_ended(AT, reason=SessionEndReason.USER_INACTIVE)["reason"] == (
        "USER_INACTIVE"
    )
    assert events.message_failed(AT, client_message_id="c", code="k", detail="d") == {
        "type": "message.failed",
        "at": STAMP,
        "clientMessageId": "c",
        "code": "k",
        "detail": "d",
    }
