"""The emulator's AXP resources as values: sessions, engagements, dialogs, connections,
messages, their states, and the errors an illegal move raises. `EmulatorState` holds and moves
them (`emulator/state.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final


class SessionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"


class DialogStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"


class ParticipantType(StrEnum):
    CUSTOMER = "CUSTOMER"
    AGENT = "AGENT"
    SUPERVISOR = "SUPERVISOR"
    SYSTEM = "SYSTEM"
    BOT = "BOT"


class ConnectionState(StrEnum):
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


class StateError(Exception):
    pass


class Unknown(StateError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} was not found")
        self.kind = kind
        self.ident = ident


class InvalidMove(StateError):
    pass


@dataclass(slots=True)
class Session:
    session_id: str
    account_id: str
    channel_provider_id: str
    customer_id: str  # the customer's participantId
    display_name: str | None
    identifiers: dict[str, list[str]]
    parameters: dict[str, str]
    provider_customer_id: str | None
    created_at: datetime
    updated_at: datetime
    status: SessionStatus = SessionStatus.ACTIVE


@dataclass(slots=True)
class Connection:
    connection_id: str
    participant_id: str
    participant_type: ParticipantType
    display_name: str | None
    state: ConnectionState = ConnectionState.CONNECTED
    session_ids: list[str] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED


@dataclass(slots=True)
class Message:
    message_id: str
    index: int
    sender: Connection
    session_id: str | None
    body: dict[str, Any]
    received_at: datetime
    correlation_id: str
    extra: dict[str, Any] = field(default_factory=dict)  # fallbackText, headers, customData...


@dataclass(slots=True)
class Dialog:
    dialog_id: str
    engagement_id: str
    channel_id: str
    provider_dialog_id: str | None
    initiator_participant_id: str
    session_id: str
    engagement_parameters: dict[str, str]
    created_at: datetime
    updated_at: datetime
    correlation_id: str
    status: DialogStatus = DialogStatus.PENDING
    connections: list[Connection] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def connected(self, *types: ParticipantType) -> list[Connection]:
        return [
            c
            for c in self.connections
            if c.connected and (not types or c.participant_type in types)
        ]

    def customer(self) -> Connection:
        return next(c for c in self.connections if c.participant_type is ParticipantType.CUSTOMER)


CONTACT_CENTRE: Final = (
    ParticipantType.AGENT,
    ParticipantType.SUPERVISOR,
    ParticipantType.SYSTEM,
    ParticipantType.BOT,
)


@dataclass(slots=True)
class Engagement:
    engagement_id: str
    account_id: str
    channel_provider_id: str
    customer_id: str
    conversation: str | None
    dialogs: list[Dialog] = field(default_factory=list)

    def active_dialog(self) -> Dialog | None:
        """The newest dialog not TERMINATED."""
        for dialog in reversed(self.dialogs):
            if dialog.status is not DialogStatus.TERMINATED:
                return dialog
        return None

    def dialog(self, dialog_id: str) -> Dialog:
        for dialog in self.dialogs:
            if dialog.dialog_id == dialog_id:
                return dialog
        raise Unknown("dialog", dialog_id)
