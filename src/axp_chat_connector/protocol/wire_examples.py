"""One example of each frame of the client protocol, for the published AsyncAPI document and
docs/client-protocol.md. Events come from the real builders (`protocol/events.py`), answers
from `codec`; the tests check each example against its model and its published schema."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from axp_chat_connector.errors import BadRequest
from axp_chat_connector.protocol import codec, events
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy, SessionEndReason
from axp_chat_connector.protocol.frames import Seq

_AT: Final = datetime(2026, 11, 25, 13, 0, 5, 123000, tzinfo=UTC)
_LATER: Final = _AT + timedelta(hours=24)
_AGENT: Final = events.participant("a-7f3e", "AGENT", "Grace")
_CUSTOMER: Final = events.participant("c-19b2", "CUSTOMER", "Ada Lovelace")
_ENGAGEMENT: Final = {"engagementId": "e-5c1d", "dialogId": "d-90aa"}
_TOKEN: Final = "eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiJzLTQyIn0.c2lnbmF0dXJl"  # noqa: S105 (a sample)

_COMMANDS: Final[Mapping[str, dict[str, Any]]] = {
    "login": {
        "type": "login",
        "id": "c1",
        "customer": {
            "displayName": "Ada Lovelace",
            "identifiers": {"emailAddresses": ["ada@example.com"]},
        },
        "parameters": {"page": "/pricing"},
    },
    "resume": {"type": "resume", "id": "c9", "token": _TOKEN, "after": 12},
    "context": {"type": "context", "id": "c2", "parameters": {"cart": "2 items"}},
    "identify": {"type": "identify", "id": "c3", "identifiers": {"phoneNumbers": ["+15550100"]}},
    "start": {"type": "start", "id": "c4", "conversation": "bikes"},
    "send": {"type": "send", "id": "c5", "text": "Hi, I need a bike"},
    "history": {"type": "history", "id": "c6", "limit": 20},
    "end": {"type": "end", "id": "c7"},
    "logout": {"type": "logout", "id": "c8"},
    "ack": {"type": "ack", "seq": 12},
    "ping": {"type": "ping", "id": "c10"},
}


def _with_seq(event: dict[str, Any], seq: int) -> dict[str, Any]:
    return events.with_seq(event, Seq(seq))


def _agent_message() -> dict[str, Any]:
    return events.message(
        _AT,
        sender=_AGENT,
        element_type="TEXT",
        text="Road or mountain?",
        message_id="m-3",
        index=3,
    )


def _events() -> dict[str, dict[str, Any]]:
    ended = events.chat_ended(_AT, **_ids(), by=EndedBy.AGENT, reason=ChatEndReason.AGENT_CLOSED)
    return {
        "chat.started": _with_seq(events.chat_started(_AT, **_ids()), 1),
        "participant.joined": _with_seq(events.participant_joined(_AT, _AGENT), 2),
        "participant.left": _with_seq(events.participant_left(_AT, _AGENT), 9),
        "message": _with_seq(_agent_message(), 4),
        "message.failed": _with_seq(
            events.message_failed(
                _AT, client_message_id="c5", code="upstream_rejected", detail={"status": 400}
            ),
            5,
        ),
        "typing": events.typing(_AT, _AGENT),
        "chat.ended": _with_seq(ended, 10),
        "chat.error": _with_seq(
            events.chat_error(_AT, code="ENGAGEMENT_CREATION_FAILED", title="Creation failed"), 6
        ),
        "chat.idle": _with_seq(events.chat_idle(_AT, ends_at=_AT + timedelta(seconds=60)), 7),
        "session.token": _with_seq(events.session_token(_AT, token=_TOKEN, expires_at=_LATER), 8),
        "session.ended": _with_seq(
            events.session_ended(_AT, reason=SessionEndReason.USER_CLOSED), 11
        ),
    }


def _ids() -> dict[str, str]:
    return {"engagement_id": _ENGAGEMENT["engagementId"], "dialog_id": _ENGAGEMENT["dialogId"]}


def _answers() -> dict[str, dict[str, Any]]:
    bound = {"sessionId": "s-42", "token": _TOKEN, "expiresAt": events.timestamp(_LATER)}
    invalid = BadRequest(
        "invalid send command",
        detail=[{"field": "text", "message": "must be at most 4096 characters (UTF-16)"}],
    )
    return {
        "loginOk": codec.ok("c1", **bound, seq=0, heartbeat=20),
        "resumeOk": codec.ok("c9", **bound, seq=14, heartbeat=20),
        "startOk": codec.ok("c4", **_ENGAGEMENT),
        "sendOk": codec.ok("c5", status="accepted"),
        "historyOk": codec.ok("c6", messages=[_agent_message()]),
        "ok": codec.ok("c10"),
        "ackOk": codec.ok("c11"),
        "error": codec.error(invalid, "c5"),
    }


EXAMPLES: Final[Mapping[str, Mapping[str, Any]]] = {**_COMMANDS, **_answers(), **_events()}
"""An example frame by message name (as in `wire_schema.MESSAGES`)."""
