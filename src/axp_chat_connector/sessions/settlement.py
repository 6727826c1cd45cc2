"""Settling a customer send: echoed once (or failed once), by whichever comes first of AXP's
answer to Send Message (the outbox worker), AXP's MESSAGES callback carrying our
`providerMessageId` (webhook intake), or the outbox giving up (`message.failed`).

"Once" is the store's: the settlement is written with the dedupe key `settle_key(pmid)` in the
same atomic step as its event, so of two settlements racing exactly one writes. The outbox
worker and the webhook intake both depend on this module, not on each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ParticipantType
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold, through_hold
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.sends import SendContent, command_of


def settle_key(provider_message_id: str) -> str:
    """The dedupe key that marks a send settled."""
    return f"settle:{provider_message_id}"


def echo(
    record: SessionRecord,
    provider_message_id: str,
    content: SendContent,
    index: int | None,
    message_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The CUSTOMER `message` event echoing an accepted send."""
    sender = events.participant(
        record.customer_participant_id or record.session_id,
        ParticipantType.CUSTOMER.value,
        record.display_name,
    )
    return events.message(
        now,
        sender=sender,
        element_type=content.element_type,
        text=content.text,
        format=content.text_format,
        message_id=message_id,
        client_message_id=command_of(provider_message_id),
        index=index,
        payload=content.payload,
    )


class Settlement:
    def __init__(
        self, *, records: SessionRecords, hold: MessageHold, config: ServiceConfig
    ) -> None:
        self.records = records
        self.hold = hold
        self.window = timedelta(seconds=config.hold_window)

    async def delivered(
        self,
        session_id: str,
        provider_message_id: str,
        content: SendContent,
        *,
        index: int | None,
        message_id: str | None,
        dialog_id: str,
    ) -> bool:
        """AXP has the send (its answer, or found by List Messages): the echo, through the
        dialog's hold, once. False when it was settled already."""
        now = self.records.now()
        deadline: datetime | None = None

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]]:
            nonlocal deadline
            item = echo(current, provider_message_id, content, index, message_id, now)
            passed = through_hold(current, dialog_id, index, item, now, self.window)
            deadline = passed.deadline
            return passed.record, passed.shown

        key = settle_key(provider_message_id)
        if await self.records.change_and_append(session_id, edit, dedupe_key=key) is None:
            return False
        await self.hold.set_timer(session_id, deadline)
        return True

    async def failed(
        self, session_id: str, provider_message_id: str, failed: dict[str, Any]
    ) -> bool:
        """The send failed for good: `message.failed`, once. False when it was settled."""
        key = settle_key(provider_message_id)
        return bool(await self.records.append(session_id, [failed], dedupe_key=key))
