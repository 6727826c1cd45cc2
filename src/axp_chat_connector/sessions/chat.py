"""The customer's chat: `start` (Create Engagement, with the lookup after a lost answer),
`end` and chat inactivity (Disconnect Engagement). Every state change steps the lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog

from axp_chat_connector.axp.client import AxpClient, Reason
from axp_chat_connector.errors import AxpError, AxpNotFound, AxpOutcomeUnknown, ConnectorError
from axp_chat_connector.protocol import codec, events, frames
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy
from axp_chat_connector.protocol.ids import DialogId, EngagementId, ProviderDialogId
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.closing import Closing, chat_ended_event
from axp_chat_connector.sessions.lifecycle import Input, Outcome, attempt, step
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.store.base import Store

_log = structlog.get_logger(__name__)

Unpark = Callable[[str, SessionRecord], Awaitable[None]]
"""Route the webhook events parked while the chat was starting (webhook intake's `unpark`)."""


class Chats:
    def __init__(
        self,
        *,
        records: SessionRecords,
        closing: Closing,
        axp_sessions: AxpSessions,
        store: Store,
        axp: AxpClient,
        unpark: Unpark,
    ) -> None:
        self.records = records
        self.closing = closing
        self.axp_sessions = axp_sessions
        self.store = store
        self.axp = axp
        self.unpark = unpark

    async def start(
        self, command: frames.Start, record: SessionRecord, outcome: Outcome
    ) -> dict[str, Any]:
        if outcome is Outcome.ALREADY_OPEN:
            return _opened(command, record)
        provider_dialog_id = ProviderDialogId(str(uuid.uuid4()))
        correlation_id = str(uuid.uuid4())
        session_id = record.session_id
        await self.store.put_route("provider_dialog", provider_dialog_id, session_id)
        await self.store.put_route("correlation", correlation_id, session_id)

        def starting(current: SessionRecord) -> SessionRecord:
            move = step(current.phase, Input.START)
            if move.outcome is Outcome.ALREADY_OPEN:
                raise _AlreadyOpen(current)
            return replace(
                current,
                chat=move.phase.chat,
                engagement_id=None,
                dialog_id=None,
                provider_dialog_id=provider_dialog_id,
                chat_correlation_ids=(correlation_id,),
                participants=frozenset(),
                hold=type(current.hold)(),
            )

        try:
            record = await self.records.change(session_id, starting) or record
        except _AlreadyOpen as open_:
            return _opened(command, open_.record)
        try:
            engagement_id, dialog_id = await self._create_engagement(
                record, command, provider_dialog_id, correlation_id
            )
        except ConnectorError:
            await self.records.step(session_id, Input.START_FAILED, strict=False)
            raise
        await self.chat_opened(session_id, engagement_id, dialog_id)
        return codec.ok(command.id, engagementId=engagement_id, dialogId=dialog_id)

    async def _create_engagement(
        self,
        record: SessionRecord,
        command: frames.Start,
        provider_dialog_id: str,
        correlation_id: str,
    ) -> tuple[EngagementId, DialogId]:
        for tries in range(3):
            if record.axp_session_id is None:
                record = await self.axp_sessions.recover(record)
            axp_session_id = record.axp_session_id
            assert axp_session_id is not None
            try:
                created = await self.axp.create_engagement(
                    session_id=axp_session_id,
                    provider_dialog_id=provider_dialog_id,
                    conversation=command.conversation,
                    engagement_parameters=dict(command.parameters) or None,
                    correlation_id=correlation_id,
                )
                found = _our_dialog(created.engagementId, created.dialogs, provider_dialog_id)
                if found is not None:
                    return found
            except AxpOutcomeUnknown:
                _log.warning("start.outcome_unknown", session_id=record.session_id)
            except AxpNotFound:
                record = await self.axp_sessions.recover(record)
                continue
            # the answer was lost, or named no dialog of ours: look before creating again
            for engagement in await self.axp.list_engagements(axp_session_id):
                found = _our_dialog(engagement.engagementId, engagement.dialogs, provider_dialog_id)
                if found is not None:
                    return found
            if tries == 2:
                break
        raise AxpError("AXP did not open the chat")

    async def chat_opened(
        self, session_id: str, engagement_id: EngagementId, dialog_id: DialogId
    ) -> None:
        """Step CHAT_OPENED: record the open chat and `chat.started` together (once), then
        route the events that beat it here (parked while it was STARTING), in that order."""
        await self.store.put_route("dialog", dialog_id, session_id)
        started = events.chat_started(
            self.records.now(), engagement_id=engagement_id, dialog_id=dialog_id
        )

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            move = attempt(current.phase, Input.CHAT_OPENED)
            if move is None or move.outcome is not Outcome.PROCEED:
                return None  # no longer starting (closed meanwhile, or opened already)
            opened = replace(
                current, chat=move.phase.chat, engagement_id=engagement_id, dialog_id=dialog_id
            )
            return opened, [started]

        done = await self.records.change_and_append(session_id, edit)
        if done is not None:
            await self.unpark(session_id, done[0])

    async def end(self, session_id: str, what: Input) -> None:
        """Disconnect the open chat: the customer's `end` (END) or chat inactivity (CHAT_IDLE)."""
        current = await self.records.step(session_id, what)
        if current is None:
            return
        reason = ChatEndReason.USER_CLOSED if what is Input.END else ChatEndReason.USER_INACTIVE
        await self.disconnect(current, reason)

    async def disconnect(self, record: SessionRecord, reason: ChatEndReason) -> None:
        """Disconnect Engagement, then close the chat (`chat.ended`, once). On a failure the
        chat stays open (END_FAILED) and the error goes up."""
        by = EndedBy.CUSTOMER if reason is ChatEndReason.USER_CLOSED else EndedBy.SYSTEM
        axp_reason: Reason = (
            "USER_CLOSED" if reason is ChatEndReason.USER_CLOSED else "USER_INACTIVE"
        )
        if record.engagement_id and record.dialog_id and record.axp_session_id:
            try:
                await self.axp.disconnect_engagement(
                    record.engagement_id,
                    session_id=record.axp_session_id,
                    dialog_id=record.dialog_id,
                    reason=axp_reason,
                )
            except AxpNotFound:
                pass  # AXP has no such chat any more: it is over all the same
            except ConnectorError:
                await self.records.step(record.session_id, Input.END_FAILED, strict=False)
                raise
        ended = chat_ended_event(record, self.records.now(), by=by, reason=reason)
        await self.closing.close_chat(record.session_id, ended)


class _AlreadyOpen(Exception):
    def __init__(self, record: SessionRecord) -> None:
        super().__init__("chat already open")
        self.record = record


def _opened(command: frames.Start, record: SessionRecord) -> dict[str, Any]:
    return codec.ok(command.id, engagementId=record.engagement_id, dialogId=record.dialog_id)


def _our_dialog(
    engagement_id: str, dialogs: Any, provider_dialog_id: str
) -> tuple[EngagementId, DialogId] | None:
    for dialog in dialogs or ():
        if getattr(dialog, "providerDialogId", None) == provider_dialog_id:
            return EngagementId(engagement_id), DialogId(dialog.dialogId)
    return None
