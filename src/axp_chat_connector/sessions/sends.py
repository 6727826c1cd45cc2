"""A customer send as the session layer keeps it: what was sent (`SendContent`, typed, built
from the `send` frame or read back from AXP's callback) and the outbox item that delivers it
(`QueuedSend`, stored as JSON by the store, read back here and nowhere else)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axp_chat_connector.axp.bodies import message_body
from axp_chat_connector.protocol import frames
from axp_chat_connector.protocol.codes import MessageFormat
from axp_chat_connector.protocol.ids import DialogId, EngagementId, ProviderMessageId


def provider_message_id(session_id: str, command_id: str) -> ProviderMessageId:
    return ProviderMessageId(f"{session_id}:{command_id}")


def command_of(pmid: str) -> str:
    """The client's command id inside a `providerMessageId`."""
    return pmid.split(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class SendContent:
    element_type: str
    """"text", "reply" or "postback"."""
    text: str | None
    text_format: str
    payload: str | None = None

    @classmethod
    def of(cls, command: frames.Send) -> SendContent:
        if command.text is not None:
            return cls("text", command.text, command.format.value)
        chosen = command.reply or command.postback
        assert chosen is not None
        kind = "reply" if command.reply is not None else "postback"
        return cls(kind, chosen.text or "", MessageFormat.PLAINTEXT.value, chosen.payload)

    def axp_body(self) -> dict[str, Any]:
        return message_body(
            element_type=self.element_type,
            text=self.text,
            text_format=self.text_format,
            payload=self.payload,
        )


@dataclass(frozen=True, slots=True)
class QueuedSend:
    """An outbox item's payload: the send, and the chat it was accepted in."""

    client_message_id: str
    engagement_id: EngagementId
    dialog_id: DialogId
    content: SendContent

    def to_json(self) -> dict[str, Any]:
        content = self.content
        return {
            "clientMessageId": self.client_message_id,
            "engagementId": self.engagement_id,
            "dialogId": self.dialog_id,
            "elementType": content.element_type,
            "text": content.text,
            "textFormat": content.text_format,
            "payload": content.payload,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> QueuedSend:
        content = SendContent(doc["elementType"], doc["text"], doc["textFormat"], doc["payload"])
        return cls(doc["clientMessageId"], doc["engagementId"], doc["dialogId"], content)
