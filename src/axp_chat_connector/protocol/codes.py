"""The client protocol's vocabulary: command and event types and the enumerated values of
PROTOCOL.md §2-3. Wire spellings live here and nowhere else."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final


class CommandType(StrEnum):
    LOGIN = "login"
    RESUME = "resume"
    CONTEXT = "context"
    IDENTIFY = "identify"
    START = "start"
    SEND = "send"
    HISTORY = "history"
    END = "end"
    LOGOUT = "logout"
    ACK = "ack"
    PING = "ping"


class EventType(StrEnum):
    CHAT_STARTED = "chat.started"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    MESSAGE = "message"
    MESSAGE_FAILED = "message.failed"
    TYPING = "typing"
    CHAT_ENDED = "chat.ended"
    CHAT_ERROR = "chat.error"
    CHAT_IDLE = "chat.idle"
    SESSION_TOKEN = "session.token"  # noqa: S105 (an event name)
    SESSION_ENDED = "session.ended"


EPHEMERAL: Final[frozenset[EventType]] = frozenset({EventType.TYPING})
"""Events sent without a seq and never kept; every other event is durable."""


class AnswerType(StrEnum):
    OK = "ok"
    ERROR = "error"


class CloseCode(IntEnum):
    """WebSocket close codes the connector sends (PROTOCOL.md §6); 1xxx are RFC 6455's."""

    INVALID_PAYLOAD = 1007
    """A text frame that is not valid UTF-8 (RFC 6455 §8.1)."""
    POLICY = 1008
    """Refused before the upgrade (an Origin outside the allow-list): HTTP 403."""
    INTERNAL = 1011
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    BIND_TIMEOUT = 4408
    """No `login`/`resume` within `bind_timeout`."""
    SESSION_ENDED = 4409
    TOO_LARGE = 4413
    RATE_LIMITED = 4429


class MessageFormat(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    MARKDOWN = "MARKDOWN"


class EndedBy(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class ChatEndReason(StrEnum):
    USER_CLOSED = "USER_CLOSED"
    AGENT_CLOSED = "AGENT_CLOSED"
    USER_INACTIVE = "USER_INACTIVE"
    SYSTEM_CLOSED = "SYSTEM_CLOSED"


class SessionEndReason(StrEnum):
    USER_CLOSED = "USER_CLOSED"
    USER_INACTIVE = "USER_INACTIVE"
    SYSTEM_CLOSED = "SYSTEM_CLOSED"
    UNKNOWN = "UNKNOWN"


class ParticipantType(StrEnum):
    """AXP's participant types, plus UNKNOWN when AXP names none."""

    CUSTOMER = "CUSTOMER"
    AGENT = "AGENT"
    SUPERVISOR = "SUPERVISOR"
    SYSTEM = "SYSTEM"
    BOT = "BOT"
    UNKNOWN = "UNKNOWN"


DEFAULT_IDENTIFIER_KINDS: Final[frozenset[str]] = frozenset({"emailAddresses", "phoneNumbers"})
"""Customer Journey identifier names accepted when none are configured."""
