"""Random sequences of customer and contact-centre actions keep the dialog's invariants, and
every event published conforms to Avaya's Notification schemas."""

from __future__ import annotations

import asyncio

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from axp_chat_connector.emulator.contact_center import ContactCenter
from axp_chat_connector.emulator.state import (
    DialogStatus,
    EmulatorState,
    InvalidMove,
    ParticipantType,
)
from tests.openapi_check import validate_schema
from tests.unit.emulator.fakes import RecordingSink

SCHEMA_OF = {
    "ENGAGEMENT_CREATED": "EngagementCreatedEvent",
    "PARTICIPANT_ADDED": "ParticipantEvent",
    "PARTICIPANT_DISCONNECTED": "ParticipantEvent",
    "MESSAGES": "MessageEvent",
    "TYPING": "TypingEvent",
    "ENGAGEMENT_ERROR": "EngagementErrorEvent",
}


class DialogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sink = RecordingSink()
        self.center = ContactCenter(EmulatorState(), self.sink)
        self.session = self.center.state.create_session(
            account_id="ABCDEF",
            channel_provider_id="ChatProvider01",
            identifiers={"phoneNumbers": ["+353"]},
        )
        self.engagement, self.dialog, _ = self.center.state.create_engagement(
            self.session, channel_id="Chat", correlation_id="c"
        )
        asyncio.run(
            self.center.dialog_created(
                self.engagement, self.dialog, self.session, greeting_bot=True
            )
        )
        self.checked = 0

    def _try(self, action: object) -> None:
        status = self.dialog.status
        try:
            assert callable(action)
            action()
        except InvalidMove:
            assert self.dialog.status is status

    @rule()
    def accept(self) -> None:
        self._try(lambda: self.center.accept(self.engagement, self.dialog, "Agent"))

    @rule()
    def transfer(self) -> None:
        self._try(lambda: self.center.transfer(self.engagement, self.dialog, "Other"))

    @rule(text=st.text(min_size=1, max_size=20))
    def agent_says(self, text: str) -> None:
        self._try(lambda: self.center.agent_message(self.engagement, self.dialog, text))

    @rule(text=st.text(min_size=1, max_size=20))
    def customer_says(self, text: str) -> None:
        body = {"elementType": "text", "elementText": {"text": text}}
        self._try(
            lambda: self.center.customer_message(
                self.engagement, self.dialog, self.session, body, correlation_id="c", extra={}
            )
        )

    @rule()
    def typing(self) -> None:
        self._try(lambda: self.center.typing(self.engagement, self.dialog))

    @rule()
    def agent_ends(self) -> None:
        self._try(lambda: self.center.agent_disconnect(self.engagement, self.dialog))

    @rule()
    def customer_ends(self) -> None:
        self._try(lambda: self.center.customer_disconnect(self.engagement, self.dialog, "c"))

    @invariant()
    def message_indexes_run_from_one_without_gaps(self) -> None:
        assert [m.index for m in self.dialog.messages] == list(
            range(1, len(self.dialog.messages) + 1)
        )

    @invariant()
    def a_terminated_dialog_has_nobody_connected(self) -> None:
        if self.dialog.status is DialogStatus.TERMINATED:
            assert self.dialog.connected() == []
        else:
            assert self.dialog.customer().connected

    @invariant()
    def at_most_one_agent_at_a_time(self) -> None:
        assert len(self.dialog.connected(ParticipantType.AGENT)) <= 1

    @invariant()
    def every_event_conforms_and_matches_the_connections(self) -> None:
        for body in self.sink.published[self.checked :]:
            validate_schema("notification", SCHEMA_OF[body["eventType"]], body)
        self.checked = len(self.sink.published)
        added = [b for b in self.sink.published if b["eventType"] == "PARTICIPANT_ADDED"]
        gone = [b for b in self.sink.published if b["eventType"] == "PARTICIPANT_DISCONNECTED"]
        connected = {c.connection_id for c in self.dialog.connected()}
        assert {b["connectionId"] for b in added} - {b["connectionId"] for b in gone} == connected


TestDialogMachine = DialogMachine.TestCase
TestDialogMachine.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
