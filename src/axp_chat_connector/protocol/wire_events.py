"""Models of the events of docs/protocol.md §3 (connector → client), as they go on the wire.

The builders in `protocol/events.py` stay the hot path (plain dicts, no validation); these models
say what those dicts are: the tests check every builder's output against its model, and the
published JSON Schema and AsyncAPI document (`scripts/generate_protocol_schema.py`) are
generated from them. Field names are snake_case here, camelCase on the wire (aliases).

The models refuse fields they do not know (so a builder cannot drift from them); the published
schemas leave objects open, since §1 tells clients to ignore unknown fields and a later version
may add some.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

from axp_chat_connector.protocol.codes import (
    ChatEndReason,
    EndedBy,
    EventType,
    SessionEndReason,
)
from axp_chat_connector.protocol.frames import Seq

Timestamp = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO-8601 UTC, e.g. 2026-11-25T13:00:05.123Z",
        }
    ),
]
DurableSeq = Annotated[Seq, Field(ge=1, description="the event's number in its session")]


def _open_object(schema: dict[str, Any]) -> None:
    """Published schemas let clients ignore fields a later version adds (docs/protocol.md §1)."""
    schema.pop("additionalProperties", None)


class WireModel(BaseModel):
    """A frame the connector sends: wire names as aliases, closed here, open when published."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra=_open_object,
    )


class Participant(WireModel):
    """Someone in the chat: `participant` of `participant.*`, `from` of `message`/`typing`."""

    id: str = Field(description="AXP's participantId, or its connectionId when AXP gives none")
    type: str = Field(
        description="AXP's participantType (UNKNOWN when AXP gives none)",
        examples=["CUSTOMER", "AGENT", "BOT", "SUPERVISOR", "SYSTEM", "UNKNOWN"],
    )
    name: str | None = Field(default=None, description="left out when AXP gives none")


class ChatStarted(WireModel):
    """`start` succeeded; the chat waits for an agent or bot."""

    type: Literal[EventType.CHAT_STARTED]
    at: Timestamp
    seq: DurableSeq
    engagement_id: str
    dialog_id: str


class ParticipantJoined(WireModel):
    """A contact-centre participant (agent, bot, supervisor, system) joined the chat."""

    type: Literal[EventType.PARTICIPANT_JOINED]
    at: Timestamp
    seq: DurableSeq
    participant: Participant


class ParticipantLeft(WireModel):
    """A contact-centre participant left the chat."""

    type: Literal[EventType.PARTICIPANT_LEFT]
    at: Timestamp
    seq: DurableSeq
    participant: Participant


class HistoryMessage(WireModel):
    """A `message` as `history` answers it: without `seq`; `at` is AXP's `receivedAt` as given
    when AXP gives one."""

    type: Literal[EventType.MESSAGE]
    at: Timestamp
    message_id: str | None = Field(default=None, description="AXP's messageId")
    client_message_id: str | None = Field(
        default=None, description="the `id` of the customer's `send` this message echoes"
    )
    index: int | None = Field(default=None, ge=0, description="AXP's messageIndex in the dialog")
    sender: Participant = Field(alias="from")
    element_type: str = Field(description="AXP's elementType", examples=["TEXT", "RICH_MEDIA"])
    text: str | None = None
    format: str = Field(
        description="AXP's textFormat as given, PLAINTEXT when AXP gives none",
        examples=["PLAINTEXT", "MARKDOWN", "HTML"],
    )
    fallback_text: str | None = None
    payload: str | None = None
    rich_media: dict[str, Any] | None = Field(default=None, description="AXP's richMedia")
    attachments: list[dict[str, Any]] | None = Field(default=None, description="AXP's attachments")


class Message(HistoryMessage):
    """A message from AXP (MESSAGES), or the echo of an accepted customer `send`."""

    seq: DurableSeq


class MessageFailed(WireModel):
    """A `send` that could not be delivered to AXP (instead of its echo)."""

    type: Literal[EventType.MESSAGE_FAILED]
    at: Timestamp
    seq: DurableSeq
    client_message_id: str = Field(description="the `id` of the failed `send`")
    code: str = Field(description="an error code of docs/protocol.md §4")
    detail: Any = Field(description="what went wrong: a text or an object")


class Typing(WireModel):
    """Ephemeral (no `seq`, never kept): a contact-centre participant is typing."""

    type: Literal[EventType.TYPING]
    at: Timestamp
    sender: Participant = Field(alias="from")


class ChatEnded(WireModel):
    """The chat ended, once. The ids are left out only when AXP never made the chat."""

    type: Literal[EventType.CHAT_ENDED]
    at: Timestamp
    seq: DurableSeq
    engagement_id: str | None = None
    dialog_id: str | None = None
    by: EndedBy
    reason: ChatEndReason


class ChatError(WireModel):
    """AXP reported an ENGAGEMENT_ERROR."""

    type: Literal[EventType.CHAT_ERROR]
    at: Timestamp
    seq: DurableSeq
    code: str = Field(description="AXP's error type", examples=["ENGAGEMENT_CREATION_FAILED"])
    title: str
    detail: str | None = None


class ChatIdle(WireModel):
    """The chat is about to end for inactivity; any `send` clears it."""

    type: Literal[EventType.CHAT_IDLE]
    at: Timestamp
    seq: DurableSeq
    ends_at: Timestamp


class SessionToken(WireModel):
    """The session token is about to expire: a fresh one, in-band."""

    type: Literal[EventType.SESSION_TOKEN]
    at: Timestamp
    seq: DurableSeq
    token: str
    expires_at: Timestamp


class SessionEnded(WireModel):
    """The session ended (logout, inactivity, AXP reporting it gone): the last event."""

    type: Literal[EventType.SESSION_ENDED]
    at: Timestamp
    seq: DurableSeq
    reason: SessionEndReason


Event = Annotated[
    ChatStarted
    | ParticipantJoined
    | ParticipantLeft
    | Message
    | MessageFailed
    | Typing
    | ChatEnded
    | ChatError
    | ChatIdle
    | SessionToken
    | SessionEnded,
    Field(discriminator="type"),
]
"""Any event, chosen by its `type`."""

EVENT_MODELS: Final[Mapping[EventType, type[WireModel]]] = {
    EventType.CHAT_STARTED: ChatStarted,
    EventType.PARTICIPANT_JOINED: ParticipantJoined,
    EventType.PARTICIPANT_LEFT: ParticipantLeft,
    EventType.MESSAGE: Message,
    EventType.MESSAGE_FAILED: MessageFailed,
    EventType.TYPING: Typing,
    EventType.CHAT_ENDED: ChatEnded,
    EventType.CHAT_ERROR: ChatError,
    EventType.CHAT_IDLE: ChatIdle,
    EventType.SESSION_TOKEN: SessionToken,
    EventType.SESSION_ENDED: SessionEnded,
}
"""Event model by wire `type`."""
