"""Callback bodies and the event sequences of the contact centre, held to Avaya's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from axp_chat_connector.emulator import events
from axp_chat_connector.emulator.contact_center import GREETING, ContactCenter
from axp_chat_connector.emulator.state import (
    Dialog,
    DialogStatus,
    EmulatorState,
    Engagement,
    InvalidMove,
    Session,
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
T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def assert_conforms(body: dict[str, Any]) -> None:
    validate_schema("notification", "EventData", body)
    validate_schema("notification", SCHEMA_OF[body["eventType"]], body)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def center(sink: RecordingSink) -> ContactCenter:
    return ContactCenter(EmulatorState(), sink)


def _chat(center: ContactCenter) -> tuple[Session, Engagement, Dialog]:
    session = center.state.create_session(
        account_id="ABCDEF",
        channel_provider_id="ChatProvider01",
        identifiers={"emailAddresses": ["a@example.com"]},
        display_name="Ann",
    )
    engagement, dialog, _ = center.state.create_engagement(
        session, channel_id="Chat", correlation_id="corr-1", provider_dialog_id="pd-1"
    )
    return session, engagement, dialog


async def test_new_dialog_publishes_engagement_created_then_customer_added(
    center: ContactCenter, sink: RecordingSink
) -> None:
    session, engagement, dialog = _chat(center)
    await center.dialog_created(engagement, dialog, session, greeting_bot=False)
    assert sink.types() == [("ENGAGEMENT_CREATED", None), ("PARTICIPANT_ADDED", "CUSTOMER")]
    created = sink.published[0]
    assert created["providerDialogId"] == "pd-1"
    assert created["correlationId"] == "corr-1"
    assert sink.flushed == []
    for body in sink.published:
        assert_conforms(body)


async def test_greeting_bot_joins_and_greets_and_is_flushed_before_returning(
    center: ContactCenter, sink: RecordingSink
) -> None:
    session, engagement, dialog = _chat(center)
    await center.dialog_created(engagement, dialog, session, greeting_bot=True)
    assert sink.types()[2:] == [("PARTICIPANT_ADDED", "BOT"), ("MESSAGES", "BOT")]
    assert sink.published[3]["body"]["elementText"]["text"] == GREETING
    assert sink.flushed == [(dialog.dialog_id, 4)]
    assert dialog.status is DialogStatus.ACTIVE


async def test_accept_makes_the_bot_leave_before_the_agent_joins(
    center: ContactCenter, sink: RecordingSink
) -> None:
    session, engagement, dialog = _chat(center)
    await center.dialog_created(engagement, dialog, session, greeting_bot=True)
    sink.published.clear()
    center.accept(engagement, dialog, "Andy")
    assert sink.types() == [("PARTICIPANT_DISCONNECTED", "BOT"), ("PARTICIPANT_ADDED", "AGENT")]
    assert sink.published[1]["displayName"] == "Andy"
    with pytest.raises(InvalidMove):
        center.accept(engagement, dialog, "Second")


def test_customer_and_agent_messages_carry_index_and_provider_message_id(
    center: ContactCenter, sink: RecordingSink
) -> None:
    session, engagement, dialog = _chat(center)
    center.accept(engagement, dialog, "Andy")
    center.customer_message(
        engagement,
        dialog,
        session,
        {"elementType": "text", "elementText": {"text": "hello", "textFormat": "PLAINTEXT"}},
        correlation_id="corr-2",
        extra={"providerMessageId": "pm-1"},
    )
    center.agent_message(
        engagement, dialog, "hi", rich_media={"actions": [{"type": "reply", "text": "Yes"}]}
    )
    customer, agent = (b for b in sink.published if b["eventType"] == "MESSAGES")
    assert (customer["messageIndex"], customer["providerMessageId"]) == (1, "pm-1")
    assert customer["senderParticipantType"] == "CUSTOMER"
    assert customer["correlationId"] == "corr-2"
    assert agent["messageIndex"] == 2
    assert agent["body"]["richMediaPayload"]["actions"][0]["text"] == "Yes"
    for body in sink.published:
        assert_conforms(body)


def test_agent_disconnect_reports_agent_then_customer_and_terminates(
    center: ContactCenter, sink: RecordingSink
) -> None:
    _, engagement, dialog = _chat(center)
    center.accept(engagement, dialog, "Andy")
    sink.published.clear()
    center.agent_disconnect(engagement, dialog)
    assert sink.types() == [
        ("PARTICIPANT_DISCONNECTED", "AGENT"),
        ("PARTICIPANT_DISCONNECTED", "CUSTOMER"),
    ]
    assert dialog.status is DialogStatus.TERMINATED


def test_customer_disconnect_reports_customer_first_then_the_agent(
    center: ContactCenter, sink: RecordingSink
) -> None:
    _, engagement, dialog = _chat(center)
    center.accept(engagement, dialog, "Andy")
    sink.published.clear()
    center.customer_disconnect(engagement, dialog, "corr-9")
    assert sink.types() == [
        ("PARTICIPANT_DISCONNECTED", "CUSTOMER"),
        ("PARTICIPANT_DISCONNECTED", "AGENT"),
    ]
    assert {b["correlationId"] for b in sink.published} == {"corr-9"}


def test_transfer_replaces_the_agent_and_keeps_the_dialog_active(
    center: ContactCenter, sink: RecordingSink
) -> None:
    _, engagement, dialog = _chat(center)
    center.accept(engagement, dialog, "Andy")
    sink.published.clear()
    center.transfer(engagement, dialog, "Beth")
    assert sink.types() == [("PARTICIPANT_DISCONNECTED", "AGENT"), ("PARTICIPANT_ADDED", "AGENT")]
    assert sink.published[1]["displayName"] == "Beth"
    assert dialog.status is DialogStatus.ACTIVE


def test_typing_and_engagement_error_bodies_conform(
    center: ContactCenter, sink: RecordingSink
) -> None:
    _, engagement, dialog = _chat(center)
    with pytest.raises(InvalidMove):
        center.typing(engagement, dialog)  # nobody from the contact centre yet
    center.accept(engagement, dialog, "Andy")
    center.typing(engagement, dialog)
    center.engagement_error(engagement, dialog, "ENGAGEMENT_CREATION_FAILED", "failed")
    typing, error = sink.published[-2:]
    assert typing["senderParticipantDisplayName"] == "Andy"
    assert error["type"] == "ENGAGEMENT_CREATION_FAILED"
    assert_conforms(typing)
    assert_conforms(error)


def test_event_dates_are_iso_utc_with_milliseconds(center: ContactCenter) -> None:
    session, engagement, dialog = _chat(center)
    body = events.engagement_created(engagement, dialog, session, T0)
    assert body["eventDate"] == "2026-01-02T03:04:05.678Z"
    with pytest.raises(ValueError, match="not a participant event"):
        events.participant_event("MESSAGES", engagement, dialog, dialog.customer(), "c", T0)


def test_schema_check_rejects_a_body_without_a_required_field(center: ContactCenter) -> None:
    _, engagement, dialog = _chat(center)
    body = events.participant_event(
        "PARTICIPANT_ADDED", engagement, dialog, dialog.customer(), "c", T0
    )
    del body["connectionId"]
    with pytest.raises(Exception, match="connectionId"):
        assert_conforms(body)
