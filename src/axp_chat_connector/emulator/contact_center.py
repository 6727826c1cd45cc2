"""What the contact centre does: participants join and leave, messages flow, events go out.

The one place that changes dialogs on behalf of agents, bots and customers and publishes the
matching Notification events (sequences in docs/emulator.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final, Protocol

import structlog

from axp_chat_connector.background import spawn
from axp_chat_connector.emulator import events
from axp_chat_connector.emulator.delivery import DeliveryFaults, DeliveryRecord
from axp_chat_connector.emulator.state import (
    CONTACT_CENTRE,
    Connection,
    Dialog,
    DialogStatus,
    EmulatorState,
    Engagement,
    InvalidMove,
    Message,
    ParticipantType,
    Session,
)

GREETING: Final = "Hello, I am the virtual assistant. An agent will be with you shortly."
BOT_NAME: Final = "Virtual Assistant"
AUTO_AGENT_NAME: Final = "Auto Agent"

_log = structlog.get_logger(__name__)


class EventSink(Protocol):
    """The part of the webhook Dispatcher the emulator uses (a fake in unit tests)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def publish(self, body: dict[str, Any]) -> None: ...
    async def flush(self, dialog_id: str, timeout: float) -> None: ...
    def set_faults(self, faults: DeliveryFaults) -> None: ...
    def faults(self) -> DeliveryFaults: ...
    def deliveries(self) -> list[DeliveryRecord]: ...


class ContactCenter:
    def __init__(
        self,
        state: EmulatorState,
        sink: EventSink,
        *,
        greeting_bot: bool = False,
        auto_agent: bool = False,
        auto_agent_delay: float = 2.0,
        flush_timeout: float = 5.0,
    ) -> None:
        self.state = state
        self.sink = sink
        self.greeting_bot = greeting_bot
        self.auto_agent = auto_agent
        self.auto_agent_delay = auto_agent_delay
        self.flush_timeout = flush_timeout
        self._tasks: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        """Cancel the auto-agent's pending work."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> None:
        task = spawn(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Customer side ---------------------------------------------------------------------------

    async def dialog_created(
        self,
        engagement: Engagement,
        dialog: Dialog,
        session: Session,
        *,
        greeting_bot: bool,
        fail: bool = False,
    ) -> None:
        """ENGAGEMENT_CREATED, PARTICIPANT_ADDED (CUSTOMER); with the greeting bot, the bot's
        PARTICIPANT_ADDED and greeting are delivered before this returns. With `fail`, only
        ENGAGEMENT_ERROR (ENGAGEMENT_CREATION_FAILED) and the dialog is TERMINATED."""
        now = self.state.clock()
        if fail:
            self.state.terminate(dialog, first=ParticipantType.CUSTOMER)
            self.engagement_error(
                engagement,
                dialog,
                "ENGAGEMENT_CREATION_FAILED",
                "Error occurred while creating an engagement",
                detail="Unable to create an engagement (injected fault)",
            )
            return
        self.sink.publish(events.engagement_created(engagement, dialog, session, now))
        self.sink.publish(
            events.participant_event(
                "PARTICIPANT_ADDED",
                engagement,
                dialog,
                dialog.customer(),
                dialog.correlation_id,
                now,
            )
        )
        if greeting_bot:
            bot = self._join(engagement, dialog, ParticipantType.BOT, BOT_NAME)
            self._send(engagement, dialog, bot, GREETING)
            await self.sink.flush(dialog.dialog_id, self.flush_timeout)
        if self.auto_agent:
            self._spawn(
                self._auto_accept(engagement, dialog), name=f"auto-agent-accept-{dialog.dialog_id}"
            )

    def customer_message(
        self,
        engagement: Engagement,
        dialog: Dialog,
        session: Session,
        body: Mapping[str, Any],
        *,
        correlation_id: str,
        extra: Mapping[str, Any],
    ) -> Message:
        customer = dialog.customer()
        message = self.state.add_message(
            dialog,
            customer,
            body,
            correlation_id=correlation_id,
            session_id=session.session_id,
            extra=extra,
        )
        self.sink.publish(events.message_event(engagement, dialog, message, message.received_at))
        if self.auto_agent and any(
            c.display_name == AUTO_AGENT_NAME for c in dialog.connected(ParticipantType.AGENT)
        ):
            text = str(body.get("elementText", {}).get("text", "")) or "(no text)"
            self._spawn(
                self._auto_reply(engagement, dialog, f"You said: {text}"),
                name=f"auto-agent-reply-{dialog.dialog_id}",
            )
        return message

    def customer_disconnect(
        self, engagement: Engagement, dialog: Dialog, correlation_id: str
    ) -> None:
        """PARTICIPANT_DISCONNECTED for the customer, then for everyone else; TERMINATED."""
        self._terminate(engagement, dialog, ParticipantType.CUSTOMER, correlation_id)

    def sessions_ended(self, ended: list[tuple[Dialog, list[Connection]]]) -> None:
        now = self.state.clock()
        for dialog, leaving in ended:
            engagement = self.state.engagements[dialog.engagement_id]
            for connection in leaving:
                self.sink.publish(
                    events.participant_event(
                        "PARTICIPANT_DISCONNECTED",
                        engagement,
                        dialog,
                        connection,
                        dialog.correlation_id,
                        now,
                    )
                )

    # Agent side ------------------------------------------------------------------------------

    def accept(self, engagement: Engagement, dialog: Dialog, agent_name: str) -> Connection:
        """Bots leave (PARTICIPANT_DISCONNECTED), the agent joins (PARTICIPANT_ADDED)."""
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        if dialog.connected(ParticipantType.AGENT):
            raise InvalidMove("an agent is already in the dialog")
        for bot in dialog.connected(ParticipantType.BOT):
            self._leave(engagement, dialog, bot)
        return self._join(engagement, dialog, ParticipantType.AGENT, agent_name)

    def agent_message(
        self,
        engagement: Engagement,
        dialog: Dialog,
        text: str,
        *,
        text_format: str = "PLAINTEXT",
        rich_media: Mapping[str, Any] | None = None,
    ) -> Message:
        return self._send(
            engagement,
            dialog,
            self._speaker(dialog),
            text,
            text_format=text_format,
            rich_media=rich_media,
        )

    def typing(self, engagement: Engagement, dialog: Dialog) -> None:
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        self.sink.publish(
            events.typing_event(
                engagement, dialog, self._speaker(dialog), dialog.correlation_id, self.state.clock()
            )
        )

    def transfer(self, engagement: Engagement, dialog: Dialog, agent_name: str) -> Connection:
        agents = dialog.connected(ParticipantType.AGENT)
        if not agents:
            raise InvalidMove("no agent in the dialog to transfer from")
        for agent in agents:
            self._leave(engagement, dialog, agent)
        return self._join(engagement, dialog, ParticipantType.AGENT, agent_name)

    def agent_disconnect(self, engagement: Engagement, dialog: Dialog) -> None:
        """PARTICIPANT_DISCONNECTED for the agent, then the customer (and any bot)."""
        self._terminate(engagement, dialog, ParticipantType.AGENT, dialog.correlation_id)

    def engagement_error(
        self,
        engagement: Engagement,
        dialog: Dialog,
        error_type: str,
        title: str,
        detail: str | None = None,
    ) -> None:
        self.sink.publish(
            events.engagement_error(
                error_type=error_type,
                title=title,
                channel_provider_id=engagement.channel_provider_id,
                account_id=engagement.account_id,
                correlation_id=dialog.correlation_id,
                at=self.state.clock(),
                detail=detail,
                engagement=engagement,
                dialog=dialog,
            )
        )

    # Internals -------------------------------------------------------------------------------

    def _speaker(self, dialog: Dialog) -> Connection:
        if dialog.status is DialogStatus.TERMINATED:
            raise InvalidMove(f"dialog {dialog.dialog_id} is TERMINATED")
        for kind in (ParticipantType.AGENT, ParticipantType.BOT):
            found = dialog.connected(kind)
            if found:
                return found[-1]
        raise InvalidMove("no agent in the dialog: accept it first")

    def _join(
        self, engagement: Engagement, dialog: Dialog, kind: ParticipantType, name: str
    ) -> Connection:
        connection = self.state.add_participant(dialog, kind, name)
        self.sink.publish(
            events.participant_event(
                "PARTICIPANT_ADDED",
                engagement,
                dialog,
                connection,
                dialog.correlation_id,
                self.state.clock(),
            )
        )
        return connection

    def _leave(self, engagement: Engagement, dialog: Dialog, connection: Connection) -> None:
        self.state.remove_participant(dialog, connection)
        self.sink.publish(
            events.participant_event(
                "PARTICIPANT_DISCONNECTED",
                engagement,
                dialog,
                connection,
                dialog.correlation_id,
                self.state.clock(),
            )
        )

    def _send(
        self,
        engagement: Engagement,
        dialog: Dialog,
        sender: Connection,
        text: str,
        *,
        text_format: str = "PLAINTEXT",
        rich_media: Mapping[str, Any] | None = None,
    ) -> Message:
        body: dict[str, Any] = {
            "elementType": "text",
            "elementText": {"text": text, "textFormat": text_format},
        }
        if rich_media:
            body["richMediaPayload"] = dict(rich_media)
        message = self.state.add_message(dialog, sender, body, correlation_id=dialog.correlation_id)
        self.sink.publish(events.message_event(engagement, dialog, message, message.received_at))
        return message

    def _terminate(
        self,
        engagement: Engagement,
        dialog: Dialog,
        first: ParticipantType,
        correlation_id: str,
    ) -> None:
        leaving = self.state.terminate(dialog, first=first)
        now = self.state.clock()
        for connection in leaving:
            self.sink.publish(
                events.participant_event(
                    "PARTICIPANT_DISCONNECTED", engagement, dialog, connection, correlation_id, now
                )
            )

    async def _auto_accept(self, engagement: Engagement, dialog: Dialog) -> None:
        await asyncio.sleep(self.auto_agent_delay)
        if dialog.status is DialogStatus.TERMINATED or dialog.connected(ParticipantType.AGENT):
            return
        self.accept(engagement, dialog, AUTO_AGENT_NAME)
        _log.info("emulator.auto_agent.accepted", dialog_id=dialog.dialog_id)

    async def _auto_reply(self, engagement: Engagement, dialog: Dialog, text: str) -> None:
        await asyncio.sleep(0)
        if dialog.status is DialogStatus.TERMINATED:
            return
        agents = [c for c in dialog.connected(*CONTACT_CENTRE) if c.display_name == AUTO_AGENT_NAME]
        if agents:
            self._send(engagement, dialog, agents[-1], text)
