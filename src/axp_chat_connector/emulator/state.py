"""The emulator's in-memory AXP state: sessions, engagements, dialogs, connections, messages.

No I/O: the clock and the id factory are passed in. Illegal moves raise `Unknown` (an id that is
not there) or `InvalidMove` (a state that does not allow it) and change nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from axp_chat_connector.emulator.resources import (
    CONTACT_CENTRE,
    Connection,
    ConnectionState,
    Dialog,
    DialogStatus,
    Engagement,
    InvalidMove,
    Message,
    ParticipantType,
    Session,
    SessionStatus,
    StateError,
    Unknown,
)

__all__ = [  # the resources stay importable from here
    "CONTACT_CENTRE",
    "Connection",
    "ConnectionState",
    "Dialog",
    "DialogStatus",
    "EmulatorState",
    "Engagement",
    "InvalidMove",
    "Message",
    "ParticipantType",
    "Session",
    "SessionStatus",
    "StateError",
    "Unknown",
    "appended_identifiers",
]


def appended_identifiers(
    current: Mapping[str, Sequence[str]], added: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """A session's identifiers after Append Identifiers: each new value goes to the end of its
    kind's list (a value already there is not repeated), a new kind is added."""
    merged = {kind: list(values) for kind, values in current.items()}
    for kind, values in added.items():
        have = merged.setdefault(kind, [])
        have.extend(value for value in dict.fromkeys(values) if value not in have)
    return merged


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


class EmulatorState:
    """Every resource of one emulator; `clock` and `new_id` make it deterministic in tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _uuid,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.sessions: dict[str, Session] = {}
        self.engagements: dict[str, Engagement] = {}
        self._dialogs: dict[str, Dialog] = {}
        self._customers: dict[tuple[str, str, str, str], str] = {}  # (acct, cp, key, value)
        self._customer_engagement: dict[str, str] = {}

    # Sessions -----------------------------------------------------------------------------

    def create_session(
        self,
        *,
        account_id: str,
        channel_provider_id: str,
        identifiers: Mapping[str, Sequence[str]],
        display_name: str | None = None,
        parameters: Mapping[str, str] | None = None,
        provider_customer_id: str | None = None,
    ) -> Session:
        """A new ACTIVE session; sessions sharing an identifier value are one customer."""
        now = self.clock()
        customer_id = self._customer_for(account_id, channel_provider_id, identifiers)
        session = Session(
            session_id=self.new_id(),
            account_id=account_id,
            channel_provider_id=channel_provider_id,
            customer_id=customer_id,
            display_name=display_name,
            identifiers={k: list(v) for k, v in identifiers.items()},
            parameters=dict(parameters or {}),
            provider_customer_id=provider_customer_id,
            created_at=now,
            updated_at=now,
        )
        self.sessions[session.session_id] = session
        return session

    def _customer_for(
        self, account_id: str, channel_provider_id: str, identifiers: Mapping[str, Sequence[str]]
    ) -> str:
        keys = [
            (account_id, channel_provider_id, key, value)
            for key, values in sorted(identifiers.items())
            for value in values
        ]
        customer_id = next((self._customers[k] for k in keys if k in self._customers), None)
        customer_id = customer_id or self.new_id()
        for key in keys:
            self._customers.setdefault(key, customer_id)
        return customer_id

    def session(self, account_id: str, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None or session.account_id != account_id:
            raise Unknown("session", session_id)
        return session

    def append_identifiers(
        self, session: Session, identifiers: Mapping[str, Sequence[str]]
    ) -> Session:
        """Append as Avaya does (`appended_identifiers`); the caller checks the result first."""
        session.identifiers = appended_identifiers(session.identifiers, identifiers)
        for key, values in identifiers.items():
            for value in values:
                marker = (session.account_id, session.channel_provider_id, key, value)
                self._customers.setdefault(marker, session.customer_id)
        session.updated_at = self.clock()
        return session

    def update_parameters(self, session: Session, parameters: Mapping[str, str]) -> Session:
        session.parameters.update(parameters)
        session.updated_at = self.clock()
        return session

    def delete_session(self, session: Session) -> list[tuple[Dialog, list[Connection]]]:
        """Forget the session; its customer leaves every open dialog it was the last device of."""
        ended: list[tuple[Dialog, list[Connection]]] = []
        for dialog in list(self._dialogs.values()):
            customer = dialog.customer()
            if session.session_id not in customer.session_ids:
                continue
            customer.session_ids.remove(session.session_id)
            if dialog.status is not DialogStatus.TERMINATED and not customer.session_ids:
                ended.append((dialog, self.terminate(dialog, first=ParticipantType.CUSTOMER)))
        session.status = SessionStatus.TERMINATED
        del self.sessions[session.session_id]
        return ended

    # Engagements and dialogs ---------------------------------------------------------------

    def create_engagement(
        self,
        session: Session,
        *,
        channel_id: str,
        correlation_id: str,
        conversation: str | None = None,
        provider_dialog_id: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> tuple[Engagement, Dialog, bool]:
        """A new dialog on the customer's engagement (a new engagement if none); the bool says
        whether the engagement is new."""
        now = self.clock()
        engagement_id = self._customer_engagement.get(session.customer_id)
        engagement = self.engagements.get(engagement_id) if engagement_id else None
        created = engagement is None
        if engagement is None:
            engagement = Engagement(
                engagement_id=self.new_id(),
                account_id=session.account_id,
                channel_provider_id=session.channel_provider_id,
                customer_id=session.customer_id,
                conversation=conversation,
            )
            self.engagements[engagement.engagement_id] = engagement
            self._customer_engagement[session.customer_id] = engagement.engagement_id
        elif conversation is not None:
            engagement.conversation = conversation
        dialog = Dialog(
            dialog_id=self.new_id(),
            engagement_id=engagement.engagement_id,
            channel_id=channel_id,
            provider_dialog_id=provider_dialog_id,
            initiator_participant_id=session.customer_id,
            session_id=session.session_id,
            engagement_parameters=dict(parameters or {}),
            created_at=now,
            updated_at=now,
            correlation_id=correlation_id,
        )
        dialog.connections.append(
            Connection(
                connection_id=self.new_id(),
                participant_id=session.customer_id,
                participant_type=ParticipantType.CUSTOMER,
                display_name=session.display_name,
                session_ids=[session.session_id],
            )
        )
        engagement.dialogs.append(dialog)
        self._dialogs[dialog.dialog_id] = dialog
        return engagement, dialog, created

    def engagement(self, account_id: str, engagement_id: str) -> Engagement:
        engagement = self.engagements.get(engagement_id)
        if engagement is None or engagement.account_id != account_id:
            raise Unknown("engagement", engagement_id)
        return engagement

    def engagements_of_session(self, session: Session) -> list[Engagement]:
        return [
            e
            for e in self.engagements.values()
            if any(session.session_id in d.customer().session_ids for d in e.dialogs)
            or any(d.session_id == session.session_id for d in e.dialogs)
        ]

    def dialog_of(self, engagement: Engagement, dialog_id: str | None) -> Dialog:
        """The named dialog, else the active one, else the newest."""
        if dialog_id is not None:
            return engagement.dialog(dialog_id)
        dialog = engagement.active_dialog()
        if dialog is None:
            if not engagement.dialogs:
                raise InvalidMove("the engagement has no dialog")
            return engagement.dialogs[-1]
        return dialog

    def join(self, dialog: Dialog, session: Session) -> Connection:
        """Another device (session) of the dialog's customer joins it."""
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        customer = dialog.customer()
        if customer.participant_id != session.customer_id:
            raise InvalidMove("the session's customer is not the dialog's customer")
        if session.session_id not in customer.session_ids:
            customer.session_ids.append(session.session_id)
        dialog.updated_at = self.clock()
        return customer

    def add_participant(
        self, dialog: Dialog, participant_type: ParticipantType, display_name: str
    ) -> Connection:
        """A contact-centre participant joins; a PENDING dialog becomes ACTIVE."""
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        if participant_type is ParticipantType.CUSTOMER:
            raise InvalidMove("a customer joins through a session")
        connection = Connection(
            connection_id=self.new_id(),
            participant_id=self.new_id(),
            participant_type=participant_type,
            display_name=display_name,
        )
        dialog.connections.append(connection)
        dialog.status = DialogStatus.ACTIVE
        dialog.updated_at = self.clock()
        return connection

    def remove_participant(self, dialog: Dialog, connection: Connection) -> Connection:
        """A contact-centre participant leaves; the dialog stays as it is."""
        if not connection.connected or connection not in dialog.connections:
            raise InvalidMove("the participant is not connected")
        if connection.participant_type is ParticipantType.CUSTOMER:
            raise InvalidMove("the customer leaves by ending the dialog")
        connection.state = ConnectionState.DISCONNECTED
        dialog.updated_at = self.clock()
        return connection

    def terminate(self, dialog: Dialog, *, first: ParticipantType) -> list[Connection]:
        """End the dialog: everyone connected leaves, `first`'s type first; TERMINATED."""
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        leaving = sorted(dialog.connected(), key=lambda c: c.participant_type is not first)
        for connection in leaving:
            connection.state = ConnectionState.DISCONNECTED
        dialog.status = DialogStatus.TERMINATED
        dialog.updated_at = self.clock()
        return leaving

    # Messages ------------------------------------------------------------------------------

    def add_message(
        self,
        dialog: Dialog,
        sender: Connection,
        body: Mapping[str, Any],
        *,
        correlation_id: str,
        session_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Message:
        """Append a message; `messageIndex` runs 1, 2, 3... per dialog for every sender."""
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        if not sender.connected:
            raise InvalidMove("the sender is not connected to the dialog")
        message = Message(
            message_id=self.new_id(),
            index=len(dialog.messages) + 1,
            sender=sender,
            session_id=session_id,
            body=dict(body),
            received_at=self.clock(),
            correlation_id=correlation_id,
            extra={k: v for k, v in (extra or {}).items() if v is not None},
        )
        dialog.messages.append(message)
        dialog.updated_at = message.received_at
        return message
