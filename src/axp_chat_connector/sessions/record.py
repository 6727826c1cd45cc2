"""A session as the store keeps it: one JSON document, read and written whole (compare-and-set).

`SessionRecord` is the typed view; `to_doc`/`from_doc` are the only places that know the JSON
layout, so the store never sees protocol types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from axp_chat_connector.protocol.ids import (
    AxpSessionId,
    DialogId,
    EngagementId,
    ProviderDialogId,
    SessionId,
)
from axp_chat_connector.sessions.lifecycle import ChatState, Phase, SessionState
from axp_chat_connector.sessions.mapping import ChatView
from axp_chat_connector.sessions.ordering import Held, Hold


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_id: SessionId
    state: SessionState
    display_name: str
    identifiers: dict[str, list[str]]
    parameters: dict[str, str]
    axp_session_id: AxpSessionId | None
    customer_participant_id: str | None = None
    chat: ChatState = ChatState.NONE
    engagement_id: EngagementId | None = None
    dialog_id: DialogId | None = None
    provider_dialog_id: ProviderDialogId | None = None
    chat_correlation_ids: tuple[str, ...] = ()
    participants: frozenset[str] = frozenset()
    hold: Hold[dict[str, Any] | None] = field(default_factory=Hold)
    """Messages of the current dialog waiting for a missing index."""

    @property
    def phase(self) -> Phase:
        return Phase(self.state, self.chat)

    def chat_view(self) -> ChatView:
        return ChatView(
            state=self.chat,
            session_id=self.session_id,
            engagement_id=self.engagement_id,
            dialog_id=self.dialog_id,
            provider_dialog_id=self.provider_dialog_id,
            correlation_ids=frozenset(self.chat_correlation_ids),
            customer_ids=frozenset(i for i in (self.customer_participant_id,) if i is not None),
            participants=self.participants,
            session_ending=self.state is SessionState.ENDING,
        )


def to_doc(record: SessionRecord) -> dict[str, Any]:
    return {
        "sessionId": record.session_id,
        "state": record.state.name,
        "displayName": record.display_name,
        "identifiers": record.identifiers,
        "parameters": record.parameters,
        "axpSessionId": record.axp_session_id,
        "customerParticipantId": record.customer_participant_id,
        "chat": record.chat.name,
        "engagementId": record.engagement_id,
        "dialogId": record.dialog_id,
        "providerDialogId": record.provider_dialog_id,
        "chatCorrelationIds": list(record.chat_correlation_ids),
        "participants": sorted(record.participants),
        "hold": {
            "last": record.hold.last,
            "held": [[h.index, h.item, h.arrived.timestamp()] for h in record.hold.held],
            "givenUp": sorted(record.hold.given_up),
        },
    }


def from_doc(doc: dict[str, Any]) -> SessionRecord:
    hold = doc.get("hold") or {}
    return SessionRecord(
        session_id=doc["sessionId"],
        state=SessionState[doc["state"]],
        display_name=doc["displayName"],
        identifiers=doc["identifiers"],
        parameters=doc["parameters"],
        axp_session_id=doc["axpSessionId"],
        customer_participant_id=doc.get("customerParticipantId"),
        chat=ChatState[doc["chat"]],
        engagement_id=doc.get("engagementId"),
        dialog_id=doc.get("dialogId"),
        provider_dialog_id=doc.get("providerDialogId"),
        chat_correlation_ids=tuple(doc.get("chatCorrelationIds", ())),
        participants=frozenset(doc.get("participants", ())),
        hold=Hold(
            last=hold.get("last"),
            held=tuple(
                Held(int(i), item, datetime.fromtimestamp(at, UTC))
                for i, item, at in hold.get("held", ())
            ),
            given_up=frozenset(hold.get("givenUp", ())),
        ),
    )
