"""AXP's webhook events as the connector reads them: parsed (discriminated on `eventType`),
the key a copy is recognised by (DESIGN "Dedupe keys"), and the keys its session is found by.
Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, Final, assert_never

from pydantic import ValidationError

from axp_chat_connector.axp.models.notification_in_gen import (
    EngagementCreatedEvent,
    EngagementErrorEvent,
    MessageEvent,
    ParticipantEvent,
    TypingEvent,
)
from axp_chat_connector.errors import BadRequest
from axp_chat_connector.protocol.codec import field_errors

AxpEvent = (
    MessageEvent | ParticipantEvent | EngagementCreatedEvent | TypingEvent | EngagementErrorEvent
)

PARTICIPANT_ADDED: Final = "PARTICIPANT_ADDED"
PARTICIPANT_DISCONNECTED: Final = "PARTICIPANT_DISCONNECTED"
ENGAGEMENT_CREATION_FAILED: Final = "ENGAGEMENT_CREATION_FAILED"

_MODELS: Final[Mapping[str, type[AxpEvent]]] = {
    "MESSAGES": MessageEvent,
    PARTICIPANT_ADDED: ParticipantEvent,
    PARTICIPANT_DISCONNECTED: ParticipantEvent,
    "ENGAGEMENT_CREATED": EngagementCreatedEvent,
    "TYPING": TypingEvent,
    "ENGAGEMENT_ERROR": EngagementErrorEvent,
}


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event type this connector does not know (or a body without `eventType`): ignored."""

    event_type: str | None
    body: Mapping[str, Any]


def parse_webhook_event(body: Mapping[str, Any]) -> AxpEvent | UnknownEvent:
    """Parse a webhook body, discriminated on `eventType`; unknown fields are kept.

    Raises `BadRequest` (detail: the fields) when a known event type has an invalid body.
    """
    event_type = body.get("eventType")
    model = _MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return UnknownEvent(event_type if isinstance(event_type, str) else None, body)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(f"invalid {event_type} event", detail=field_errors(exc.errors())) from None


# ---------------------------------------------------------------------------------------------
# keys


def _key(*parts: object) -> str:
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def dedupe_key(event: AxpEvent | UnknownEvent) -> str | None:
    """The key under which an event is recognised as seen before; None: never deduplicated.

    MESSAGES by `messageId`, else (`dialogId`, `messageIndex`, sender), else a digest of the body
    without `eventDate`; PARTICIPANT_* by (type, `dialogId`, `connectionId`, `participantId`);
    ENGAGEMENT_ERROR by (`correlationId`, `type`, `dialogId`); ENGAGEMENT_CREATED by `dialogId`.
    """
    match event:
        case MessageEvent():
            if event.messageId is not None:
                return _key("MESSAGES", "id", event.messageId)
            if event.messageIndex is not None:
                return _key(
                    "MESSAGES",
                    "index",
                    event.dialogId,
                    event.messageIndex,
                    event.senderParticipantId,
                )
            body = event.model_dump(mode="json", by_alias=True, exclude={"eventDate"})
            digest = hashlib.sha256(_key(sorted(body.items())).encode()).hexdigest()
            return _key("MESSAGES", "digest", digest)
        case ParticipantEvent():
            return _key(event.eventType, event.dialogId, event.connectionId, event.participantId)
        case EngagementErrorEvent():
            return _key("ENGAGEMENT_ERROR", event.correlationId, event.type, event.dialogId)
        case EngagementCreatedEvent():
            return _key("ENGAGEMENT_CREATED", event.dialogId)
        case TypingEvent() | UnknownEvent():
            return None
        case _:  # pragma: no cover - exhaustive
            assert_never(event)


class RouteKind(Enum):
    DIALOG = auto()
    PROVIDER_DIALOG = auto()
    SESSION = auto()
    """AXP's session id (not the connector's)."""
    CORRELATION = auto()


def route_keys(event: AxpEvent | UnknownEvent) -> list[tuple[RouteKind, str]]:
    """The keys to find the event's session by, best first: dialog, provider dialog, AXP
    session, correlation id (those the event carries)."""
    if isinstance(event, UnknownEvent):
        return []
    candidates = (
        (RouteKind.DIALOG, event.dialogId),
        (RouteKind.PROVIDER_DIALOG, event.providerDialogId),
        (RouteKind.SESSION, getattr(event, "sessionId", None)),
        (RouteKind.CORRELATION, event.correlationId),
    )
    return [(kind, value) for kind, value in candidates if isinstance(value, str) and value]
