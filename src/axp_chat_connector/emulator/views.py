"""Avaya's JSON shapes of the emulator's state (Session, Engagement, Dialog, Message)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from axp_chat_connector.emulator.state import (
    Connection,
    Dialog,
    Engagement,
    Message,
    ParticipantType,
    Session,
)

CHAT_BASE: Final = "/api/digital/channel/v1"


def timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and `Z`, as Avaya's examples."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_json(session: Session) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionId": session.session_id,
        "accountId": session.account_id,
        "channelProviderId": session.channel_provider_id,
        "customerIdentifiers": {k: list(v) for k, v in session.identifiers.items()},
        "sessionParameters": dict(session.parameters),
        "sessionStatus": session.status.value,
        "createdAt": timestamp(session.created_at),
        "lastUpdatedAt": timestamp(session.updated_at),
        "url": f"{CHAT_BASE}/accounts/{session.account_id}/sessions/{session.session_id}",
    }
    if session.display_name is not None:
        body["displayName"] = session.display_name
    if session.provider_customer_id is not None:
        body["providerCustomerId"] = session.provider_customer_id
    return body


def connection_json(connection: Connection) -> dict[str, Any]:
    body: dict[str, Any] = {
        "connectionId": connection.connection_id,
        "participantId": connection.participant_id,
        "participantType": connection.participant_type.value,
        "connectionState": connection.state.value,
    }
    if connection.display_name is not None:
        body["displayName"] = connection.display_name
    if connection.participant_type is ParticipantType.CUSTOMER:
        body["sessionIds"] = list(connection.session_ids)
    return body


def dialog_json(dialog: Dialog) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dialogId": dialog.dialog_id,
        "channelId": dialog.channel_id,
        "dialogStatus": dialog.status.value,
        "initiatorParticipantId": dialog.initiator_participant_id,
        "connections": [connection_json(c) for c in dialog.connections],
        "engagementParameters": dict(dialog.engagement_parameters),
        "createdAt": timestamp(dialog.created_at),
        "lastUpdatedAt": timestamp(dialog.updated_at),
    }
    if dialog.provider_dialog_id is not None:
        body["providerDialogId"] = dialog.provider_dialog_id
    return body


def engagement_json(engagement: Engagement) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagementId": engagement.engagement_id,
        "accountId": engagement.account_id,
        "dialogs": [dialog_json(d) for d in engagement.dialogs],
        "url": f"{CHAT_BASE}/accounts/{engagement.account_id}/engagements/"
        f"{engagement.engagement_id}",
    }
    if engagement.conversation is not None:
        body["conversation"] = engagement.conversation
    return body


def participant_json(connection: Connection, channel_provider_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "participantId": connection.participant_id,
        "participantType": connection.participant_type.value,
        "connectionId": connection.connection_id,
        "channelProviderId": channel_provider_id,
    }
    if connection.display_name is not None:
        body["displayName"] = connection.display_name
    return body


def message_json(
    message: Message, dialog: Dialog, engagement: Engagement, status: str = "SENT"
) -> dict[str, Any]:
    """A Message of the Custom Chat spec (also the MESSAGES callback body, minus EventData)."""
    sender = message.sender
    recipients = [
        participant_json(c, engagement.channel_provider_id)
        for c in dialog.connected()
        if c is not sender
    ]
    body: dict[str, Any] = {
        "messageId": message.message_id,
        "accountId": engagement.account_id,
        "dialogId": dialog.dialog_id,
        "engagementId": engagement.engagement_id,
        "status": status,
        "channelProviderId": engagement.channel_provider_id,
        "channelId": dialog.channel_id,
        "senderParticipantId": sender.participant_id,
        "senderParticipantName": sender.display_name or "",
        "senderParticipantType": sender.participant_type.value,
        "body": message.body,
        "messageIndex": message.index,
        "recipientParticipants": recipients,
        "receivedAt": timestamp(message.received_at),
        "lastUpdatedAt": timestamp(message.received_at),
    }
    session_id = message.session_id or dialog.session_id
    body["sessionId"] = session_id
    if dialog.provider_dialog_id is not None:
        body["providerDialogId"] = dialog.provider_dialog_id
    if dialog.engagement_parameters:
        body["engagementParameters"] = dict(dialog.engagement_parameters)
    body.update(message.extra)
    return body
