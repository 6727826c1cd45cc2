"""AXP webhook bodies shaped like the Notification spec's examples (AXP-DIGITAL-API.md §3.4)."""

from __future__ import annotations

from typing import Any

ACCOUNT = "ABCDEF"
PROVIDER = "ChatConnector01"
ENGAGEMENT = "eng-1"
DIALOG = "dlg-1"
PROVIDER_DIALOG = "pd-1"
AXP_SESSION = "axp-sess-1"
DATE = "2026-11-25T13:00:00.000Z"


def _base(event_type: str, correlation_id: str = "corr-1") -> dict[str, Any]:
    return {"eventType": event_type, "correlationId": correlation_id, "eventDate": DATE}


def participant(
    event_type: str = "PARTICIPANT_ADDED",
    type_: str | None = "AGENT",
    *,
    participant_id: str | None = "agent-p",
    connection_id: str = "agent-c",
    name: str | None = "Andy Morgan",
    **over: Any,
) -> dict[str, Any]:
    body = _base(event_type) | {
        "engagementId": ENGAGEMENT,
        "dialogId": DIALOG,
        "accountId": ACCOUNT,
        "channelId": "Chat",
        "channelProviderId": PROVIDER,
        "sessionId": AXP_SESSION,
        "connectionId": connection_id,
        "providerDialogId": PROVIDER_DIALOG,
        "providerParticipantId": "hb8j2zv1jbyvpgic",
    }
    optional = {"participantId": participant_id, "participantType": type_, "displayName": name}
    body |= {k: v for k, v in optional.items() if v is not None}
    return body | over


def message(
    *,
    sender_type: str = "AGENT",
    text: str | None = "Select a variant",
    index: int | None = 6,
    message_id: str | None = "msg-6",
    **over: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"elementType": "text"}
    if text is not None:
        body["elementText"] = {"text": text, "textFormat": "PLAINTEXT"}
    event = _base("MESSAGES") | {
        "accountId": ACCOUNT,
        "dialogId": DIALOG,
        "engagementId": ENGAGEMENT,
        "status": "NONE",
        "sessionId": AXP_SESSION,
        "channelProviderId": PROVIDER,
        "channelId": "Chat",
        "senderParticipantId": "agent-p" if sender_type != "CUSTOMER" else "cust-p",
        "senderParticipantName": "Jane Doe",
        "senderParticipantType": sender_type,
        "body": body,
        "providerDialogId": PROVIDER_DIALOG,
    }
    if index is not None:
        event["messageIndex"] = index
    if message_id is not None:
        event["messageId"] = message_id
    return event | over


def typing(sender_type: str = "AGENT", **over: Any) -> dict[str, Any]:
    return (
        _base("TYPING")
        | {
            "accountId": ACCOUNT,
            "dialogId": DIALOG,
            "engagementId": ENGAGEMENT,
            "channelId": "Chat",
            "channelProviderId": PROVIDER,
            "senderParticipantId": "agent-p",
            "senderParticipantType": sender_type,
            "senderParticipantDisplayName": "Jane Doe",
            "providerDialogId": PROVIDER_DIALOG,
        }
        | over
    )


def engagement_error(
    type_: str = "ENGAGEMENT_CREATION_FAILED", correlation_id: str = "corr-start", **over: Any
) -> dict[str, Any]:
    return (
        _base("ENGAGEMENT_ERROR", correlation_id)
        | {
            "type": type_,
            "title": "Error occurred while creating an engagement",
            "detail": "Unable to create an engagement",
            "engagementId": ENGAGEMENT,
            "dialogId": DIALOG,
            "sessionId": AXP_SESSION,
            "providerDialogId": PROVIDER_DIALOG,
            "channelProviderId": PROVIDER,
            "accountId": ACCOUNT,
            "channelId": "Chat",
        }
        | over
    )


def engagement_created(**over: Any) -> dict[str, Any]:
    return (
        _base("ENGAGEMENT_CREATED", "corr-start")
        | {
            "engagementId": ENGAGEMENT,
            "dialogId": DIALOG,
            "accountId": ACCOUNT,
            "conversation": "sell car",
            "channelProviderId": PROVIDER,
            "initiatorParticipantId": "cust-p",
            "sessionId": AXP_SESSION,
            "customerIdentifiers": {"emailAddresses": ["a@b.c"]},
            "providerDialogId": PROVIDER_DIALOG,
        }
        | over
    )
