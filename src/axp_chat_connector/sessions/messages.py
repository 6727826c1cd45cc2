"""The customer's messages: `send` (accepted into the outbox; the outbox worker delivers it)
and `history` (List Messages, as `message` events)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.models import chat_in_gen
from axp_chat_connector.errors import AxpNotFound, NotFound
from axp_chat_connector.protocol import codec, events, frames
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.closing import Closing
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.sends import QueuedSend, SendContent, provider_message_id
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store.base import Store

HISTORY_PAGE: Final = 50


class Messages:
    def __init__(
        self,
        *,
        records: SessionRecords,
        axp_sessions: AxpSessions,
        closing: Closing,
        timers: Timers,
        store: Store,
        axp: AxpClient,
        wake_outbox: asyncio.Event,
        history_max_pages: int,
    ) -> None:
        self.records = records
        self.axp_sessions = axp_sessions
        self.closing = closing
        self.timers = timers
        self.store = store
        self.axp = axp
        self.wake_outbox = wake_outbox
        self.history_max_pages = history_max_pages
        """List Messages pages one `history` reads at most."""

    async def send(self, command: frames.Send, record: SessionRecord) -> dict[str, Any]:
        assert record.dialog_id is not None
        assert record.engagement_id is not None
        session_id = record.session_id
        pmid = provider_message_id(session_id, command.id)
        queued = QueuedSend(
            command.id, record.engagement_id, record.dialog_id, SendContent.of(command)
        )
        await self.store.outbox_add(
            session_id, pmid, record.dialog_id, queued.to_json(), now=self.records.clock()
        )
        await self.timers.customer_active(session_id)
        self.wake_outbox.set()
        return codec.ok(command.id, status="accepted")

    async def history(self, command: frames.History, record: SessionRecord) -> dict[str, Any]:
        if (
            record.engagement_id is None
            or record.dialog_id is None
            or record.axp_session_id is None
        ):
            return codec.ok(command.id, messages=[])
        collected: list[dict[str, Any]] = []
        now = self.records.now()
        for page in range(1, self.history_max_pages + 1):
            try:
                answer = await self.axp.list_messages(
                    record.engagement_id,
                    session_id=record.axp_session_id,
                    dialog_id=record.dialog_id,
                    page_number=page,
                    page_size=HISTORY_PAGE,
                )
            except AxpNotFound:
                if await self.axp_sessions.is_gone(record) and (
                    await self.closing.axp_forgot_session(record.session_id)
                ):
                    raise NotFound("the session has ended") from None
                raise
            messages = answer.messages or []
            collected.extend(history_message(m, record, now) for m in messages)
            if len(messages) < HISTORY_PAGE:
                break
        collected.sort(key=lambda m: m.get("index", 0))
        if command.before is not None:
            collected = [m for m in collected if m.get("index", 0) < command.before]
        return codec.ok(command.id, messages=collected[-command.limit :])


def history_message(
    message: chat_in_gen.Message, record: SessionRecord, now: datetime
) -> dict[str, Any]:
    """A List Messages entry as a `message` event without seq."""
    body = message.body
    element_text = body.elementText
    client_message_id = None
    if message.providerMessageId and message.providerMessageId.startswith(f"{record.session_id}:"):
        client_message_id = message.providerMessageId.split(":", 1)[1]
    event = events.message(
        now,
        sender=events.participant(
            message.senderParticipantId,
            message.senderParticipantType,
            message.senderParticipantName or None,
        ),
        element_type=body.elementType,
        text=None if element_text is None else element_text.text,
        format=(element_text and element_text.textFormat) or "PLAINTEXT",
        message_id=message.messageId,
        client_message_id=client_message_id,
        index=message.messageIndex,
        fallback_text=message.fallbackText,
        payload=body.payload,
    )
    if message.receivedAt:
        event["at"] = str(message.receivedAt)
    return event
