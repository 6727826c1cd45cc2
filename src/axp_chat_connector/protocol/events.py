"""Builders of the events of PROTOCOL.md §3 (connector → client).

Each builder returns the event as a wire-ready JSON object with `type` and `at`; durable events
get their `seq` from the store when appended (`with_seq`), ephemeral ones (`typing`) never do.
Times are passed in (aware datetimes) and written as ISO-8601 UTC with milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from axp_chat_connector.protocol.codes import (
    EPHEMERAL,
    ChatEndReason,
    EndedBy,
    EventType,
    MessageFormat,
    SessionEndReason,
)
from axp_chat_connector.protocol.frames import Seq

Event = dict[str, Any]


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`; `moment` must be timezone-aware."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("timestamps need a timezone-aware datetime")
    if offset:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


def _event(kind: EventType, at: datetime) -> Event:
    return {"type": kind.value, "at": timestamp(at)}


def is_durable(event: Mapping[str, Any]) -> bool:
    return event["type"] not in EPHEMERAL


def with_seq(event: Mapping[str, Any], seq: Seq) -> Event:
    """The event as sent, once the store gave it its seq."""
    return {**event, "seq": seq}


def participant(id_: str, type_: str, name: str | None = None) -> dict[str, str]:
    """The `participant` / `from` object: `{id, type, name?}`."""
    who = {"id": id_, "type": type_}
    if name is not None:
        who["name"] = name
    return who


def chat_started(at: datetime, *, engagement_id: str, dialog_id: str) -> Event:
    return _event(EventType.CHAT_STARTED, at) | {
        "engagementId": engagement_id,
        "dialogId": dialog_id,
    }


def participant_joined(at: datetime, who: Mapping[str, str]) -> Event:
    return _event(EventType.PARTICIPANT_JOINED, at) | {"participant": dict(who)}


def participant_left(at: datetime, who: Mapping[str, str]) -> Event:
    return _event(EventType.PARTICIPANT_LEFT, at) | {"participant": dict(who)}


def message(
    at: datetime,
    *,
    sender: Mapping[str, str],
    element_type: str,
    text: str | None = None,
    format: str = MessageFormat.PLAINTEXT.value,
    message_id: str | None = None,
    client_message_id: str | None = None,
    index: int | None = None,
    fallback_text: str | None = None,
    payload: str | None = None,
    rich_media: Mapping[str, Any] | None = None,
    attachments: Sequence[Mapping[str, Any]] | None = None,
) -> Event:
    """A `message` event: from AXP (MESSAGES), or the echo of an accepted `send`."""
    event = _event(EventType.MESSAGE, at)
    optional: dict[str, Any] = {
        "messageId": message_id,
        "clientMessageId": client_message_id,
        "index": index,
    }
    event.update((k, v) for k, v in optional.items() if v is not None)
    event["from"] = dict(sender)
    event["elementType"] = element_type
    if text is not None:
        event["text"] = text
    event["format"] = format
    more: dict[str, Any] = {
        "fallbackText": fallback_text,
        "payload": payload,
        "richMedia": None if rich_media is None else dict(rich_media),
        "attachments": None if attachments is None else [dict(a) for a in attachments],
    }
    event.update((k, v) for k, v in more.items() if v is not None)
    return event


def message_failed(at: datetime, *, client_message_id: str, code: str, detail: Any) -> Event:
    return _event(EventType.MESSAGE_FAILED, at) | {
        "clientMessageId": client_message_id,
        "code": code,
        "detail": detail,
    }


def typing(at: datetime, sender: Mapping[str, str]) -> Event:
    return _event(EventType.TYPING, at) | {"from": dict(sender)}


def chat_ended(
    at: datetime,
    *,
    engagement_id: str | None,
    dialog_id: str | None,
    by: EndedBy,
    reason: ChatEndReason,
) -> Event:
    """`chat.ended`; the ids are left out only when AXP never made the chat (creation failed)."""
    event = _event(EventType.CHAT_ENDED, at)
    if engagement_id is not None:
        event["engagementId"] = engagement_id
    if dialog_id is not None:
        event["dialogId"] = dialog_id
    event["by"] = by.value
    event["reason"] = reason.value
    return event


def chat_error(at: datetime, *, code: str, title: str, detail: str | None = None) -> Event:
    event = _event(EventType.CHAT_ERROR, at) | {"code": code, "title": title}
    if detail is not None:
        event["detail"] = detail
    return event


def chat_idle(at: datetime, *, ends_at: datetime) -> Event:
    return _event(EventType.CHAT_IDLE, at) | {"endsAt": timestamp(ends_at)}


def session_token(at: datetime, *, token: str, expires_at: datetime) -> Event:
    return _event(EventType.SESSION_TOKEN, at) | {
        "token": token,
        "expiresAt": timestamp(expires_at),
    }


def session_ended(at: datetime, *, reason: SessionEndReason) -> Event:
    return _event(EventType.SESSION_ENDED, at) | {"reason": reason.value}
