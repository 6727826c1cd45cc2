"""Settling a customer send: echoed once (or failed once), by whichever comes first of AXP's
answer to Send Message (the outbox worker), AXP's MESSAGES callback carrying our
`providerMessageId` (webhook intake), or the outbox giving up (`message.failed`).

The outbox worker and the webhook intake both depend on this module, not on each other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ParticipantType
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.sends import SendContent, command_of
from axp_chat_connector.store.base import Store


class Settlement:
    def __init__(
        self,
        *,
        records: SessionRecords,
        hold: MessageHold,
        store: Store,
        config: ServiceConfig,
    ) -> None:
        self.records = records
        self.hold = hold
        self.store = store
        self.config = config

    def echo(
        self,
        record: SessionRecord,
        provider_message_id: str,
        content: SendContent,
        index: int | None,
        message_id: str | None,
    ) -> dict[str, Any]:
        """The CUSTOMER `message` event echoing an accepted send."""
        command_id = record.outbox.get(provider_message_id) or command_of(provider_message_id)
        sender = events.participant(
            record.customer_participant_id or record.session_id,
            ParticipantType.CUSTOMER.value,
            record.display_name,
        )
        return events.message(
            self.records.now(),
            sender=sender,
            element_type=content.element_type,
            text=content.text,
            format=content.text_format,
            message_id=message_id,
            client_message_id=command_id,
            index=index,
            payload=content.payload,
        )

    async def settle(
        self,
        session_id: str,
        provider_message_id: str,
        index: int | None,
        outcome: dict[str, Any],
        *,
        dialog_id: str | None = None,
    ) -> bool:
        """Echo (or fail) a send exactly once; False when it was settled already."""
        if not await self.store.first_seen(
            f"settle:{provider_message_id}", ttl=self.config.dedupe_ttl
        ):
            return False
        if outcome.get("type") == "message":
            await self.hold.offer(
                session_id, dialog_id, index, outcome, settling=provider_message_id
            )
            return True

        def drop(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]]:
            rest = {k: v for k, v in current.outbox.items() if k != provider_message_id}
            return replace(current, outbox=rest), [outcome]

        await self.records.change_and_append(session_id, drop)
        return True
