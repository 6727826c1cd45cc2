"""Flat Notification callback bodies (EventData + the per-type fields), built from state.

Pure functions: the time of the event is passed in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from axp_chat_connector.emulator.state import (
    Connection,
    Dialog,
    Engagement,
    Message,
    Session,
)
from axp_chat_connector.emulator.views import message_json, timestamp


def _event_data(event_type: str, correlation_id: str, at: datetime) -> dict[str, Any]:
    return {"eventType": event_type, "correlationId": correlation_id, "eventDate": timestamp(at)}


def engagement_created(
    engagement: Engagement, dialog: Dialog, session: Session, at: datetime
) -> dict[str, Any]:
    body = _event_data("ENGAGEMENT_CREATED", dialog.correlation_id, at)
    body |= {
        "engagementId": engagement.engagement_id,
        "dialogId": dialog.dialog_id,
        "accountId": engagement.account_id,
        "channelProviderId": engagement.channel_provider_id,
        "initiatorParticipantId": dialog.initiator_participant_id,
        "sessionId": session.session_id,
        "customerIdentifiers": {k: list(v) for k, v in session.identifiers.items()},
        "engagementParameters": dict(dialog.engagement_parameters),
    }
    if engagement.conversation is not None:
        body["conversation"] = engagement.conversation
    if dialog.provider_dialog_id is not None:
        body["providerDialogId"] = dialog.provider_dialog_id
    return body


def participant_event(
    event_type: str,
    engagement: Engagement,
    dialog: Dialog,
    connection: Connection,
    correlation_id: str,
    at: datetime,
) -> dict[str, Any]:
    """PARTICIPANT_ADDED or PARTICIPANT_DISCONNECTED (same shape; no reason field)."""
    if event_type not in {"PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED"}:
        raise ValueError(f"not a participant event: {event_type}")
    body = _event_data(event_type, correlation_id, at)
    body |= {
        "accountId": engagement.account_id,
        "channelProviderId": engagement.channel_provider_id,
        "engagementId": engagement.engagement_id,
        "dialogId": dialog.dialog_id,
        "connectionId": connection.connection_id,
        "channelId": dialog.channel_id,
        "sessionId": dialog.session_id,
        "participantId": connection.participant_id,
        "participantType": connection.participant_type.value,
    }
    if connection.display_name is not None:
        body["displayName"] = connection.display_name
    if dialog.provider_dialog_id is not None:
        body["providerDialogId"] = dialog.provider_dialog_id
    return body


def message_event(
    engagement: Engagement, dialog: Dialog, message: Message, at: datetime
) -> dict[str, Any]:
    """MESSAGES: the Message (with messageIndex and any providerMessageId) plus EventData."""
    return _event_data("MESSAGES", message.correlation_id, at) | message_json(
        message, dialog, engagement
    )


def typing_event(
    engagement: Engagement,
    dialog: Dialog,
    sender: Connection,
    correlation_id: str,
    at: datetime,
) -> dict[str, Any]:
    body = _event_data("TYPING", correlation_id, at)
    body |= {
        "accountId": engagement.account_id,
        "dialogId": dialog.dialog_id,
        "engagementId": engagement.engagement_id,
        "channelId": dialog.channel_id,
        "channelProviderId": engagement.channel_provider_id,
        "senderParticipantId": sender.participant_id,
        "senderParticipantType": sender.participant_type.value,
        "senderParticipantDisplayName": sender.display_name or "",
    }
    if dialog.provider_dialog_id is not None:
        body["providerDialogId"] = dialog.provider_dialog_id
    return body


def engagement_error(
    *,
    error_type: str,
    title: str,
    channel_provider_id: str,
    account_id: str,
    correlation_id: str,
    at: datetime,
    detail: str | None = None,
    engagement: Engagement | None = None,
    dialog: Dialog | None = None,
) -> dict[str, Any]:
    body = _event_data("ENGAGEMENT_ERROR", correlation_id, at)
    body |= {
        "type": error_type,
        "title": title,
        "channelProviderId": channel_provider_id,
        "accountId": account_id,
    }
    if detail is not None:
        body["detail"] = detail
    if engagement is not None:
        body["engagementId"] = engagement.engagement_id
    if dialog is not None:
        body |= {
            "dialogId": dialog.dialog_id,
            "sessionId": dialog.session_id,
            "channelId": dialog.channel_id,
        }
        if dialog.provider_dialog_id is not None:
            body["providerDialogId"] = dialog.provider_dialog_id
    return body
