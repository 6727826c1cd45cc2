"""AXP webhook events → client events and decisions, for every event and participant type."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from axp_chat_connector.axp.models import chat_in_gen
from axp_chat_connector.axp.models.notification_in_gen import (
    EngagementCreatedEvent,
    EngagementErrorEvent,
    MessageEvent,
    ParticipantEvent,
    TypingEvent,
)
from axp_chat_connector.errors import BadRequest
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy
from axp_chat_connector.sessions.axp_events import (
    RouteKind,
    UnknownEvent,
    dedupe_key,
    parse_webhook_event,
    route_keys,
)
from axp_chat_connector.sessions.lifecycle import ChatState
from axp_chat_connector.sessions.mapping import (
    ArmChatIdle,
    Broadcast,
    ChatView,
    CheckEngagement,
    ConfirmStart,
    Emit,
    EndChat,
    Mapped,
    Order,
    Park,
    SettleOutbox,
    chat_over,
    map_event,
)
from axp_chat_connector.sessions.sends import SendContent
from tests.unit.sessions import axp_bodies as body

NOW = datetime(2026, 11, 25, 13, 0, 1, tzinfo=UTC)
AT = events.timestamp(NOW)
OPEN = ChatView(
    state=ChatState.OPEN,
    engagement_id=body.ENGAGEMENT,
    dialog_id=body.DIALOG,
    provider_dialog_id=body.PROVIDER_DIALOG,
    correlation_ids=frozenset({"corr-start"}),
    customer_ids=frozenset({"cust-p"}),
    session_id="s-1",
)
WITH_AGENT = replace(OPEN, participants=frozenset({"agent-c"}))
STARTING = ChatView(
    state=ChatState.STARTING,
    provider_dialog_id=body.PROVIDER_DIALOG,
    correlation_ids=frozenset({"corr-start"}),
)
OPENED_BY_PROVIDER_DIALOG = replace(STARTING, state=ChatState.OPEN)
"""An event parked while STARTING, mapped once the chat is open (its own ids only)."""


def mapped(raw: dict[str, Any], chat: ChatView = OPEN) -> Mapped:
    return map_event(parse_webhook_event(raw), chat, NOW)


def emitted(result: Mapped) -> list[dict[str, Any]]:
    """The events the decisions append (messages through the hold included)."""
    return [
        d.event for d in result.decisions if isinstance(d, Emit | Order) and d.event is not None
    ]


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "model"),
    [
        (body.message(), MessageEvent),
        (body.participant("PARTICIPANT_ADDED"), ParticipantEvent),
        (body.participant("PARTICIPANT_DISCONNECTED"), ParticipantEvent),
        (body.typing(), TypingEvent),
        (body.engagement_error(), EngagementErrorEvent),
        (body.engagement_created(), EngagementCreatedEvent),
    ],
)
def test_parse_discriminates_on_event_type_and_keeps_unknown_fields(
    raw: dict[str, Any], model: type[Any]
) -> None:
    event = parse_webhook_event(raw | {"futureField": {"x": 1}})
    assert type(event) is model
    assert not isinstance(event, UnknownEvent)
    assert event.model_extra == {"futureField": {"x": 1}}


@pytest.mark.parametrize(
    ("raw", "event_type"),
    [
        ({"eventType": "CC_MESSAGES", "x": 1}, "CC_MESSAGES"),
        ({"hello": "world"}, None),
        ({"eventType": 5}, None),
    ],
)
def test_unknown_event_types_and_foreign_bodies(
    raw: dict[str, Any], event_type: str | None
) -> None:
    event = parse_webhook_event(raw)
    assert event == UnknownEvent(event_type, raw)
    assert map_event(event, OPEN, NOW) == Mapped(OPEN)
    assert dedupe_key(event) is None
    assert route_keys(event) == []


def test_a_known_event_with_a_bad_body_is_a_bad_request_naming_the_fields() -> None:
    raw = body.message()
    del raw["body"]
    raw["messageIndex"] = "six"
    with pytest.raises(BadRequest) as caught:
        parse_webhook_event(raw)
    assert {d["field"] for d in caught.value.detail} == {"body", "messageIndex"}


# --- keys ----------------------------------------------------------------------------------


def test_message_dedupe_keys() -> None:
    by_id = dedupe_key(parse_webhook_event(body.message()))
    redelivered = dedupe_key(parse_webhook_event(body.message(eventDate="2030-01-01T00:00:00Z")))
    assert by_id == redelivered == '["MESSAGES","id","msg-6"]'
    by_index = dedupe_key(parse_webhook_event(body.message(message_id=None)))
    assert by_index == '["MESSAGES","index","dlg-1",6,"agent-p"]'


def test_message_without_id_or_index_is_keyed_by_its_content() -> None:
    def key(**over: Any) -> str | None:
        return dedupe_key(parse_webhook_event(body.message(message_id=None, index=None, **over)))

    first = key()
    assert first is not None
    assert first.startswith('["MESSAGES","digest",')
    assert key(eventDate="2030-01-01T00:00:00Z") == first
    assert key(text="something else") != first


def test_participant_dedupe_keys() -> None:
    added = dedupe_key(parse_webhook_event(body.participant("PARTICIPANT_ADDED")))
    assert added == '["PARTICIPANT_ADDED","dlg-1","agent-c","agent-p"]'
    left = dedupe_key(parse_webhook_event(body.participant("PARTICIPANT_DISCONNECTED")))
    assert left != added
    again = body.participant("PARTICIPANT_ADDED", eventDate="2030-01-01T00:00:00Z")
    assert dedupe_key(parse_webhook_event(again)) == added
    rejoined = body.participant("PARTICIPANT_ADDED", connection_id="agent-c2")
    assert dedupe_key(parse_webhook_event(rejoined)) != added


def test_other_dedupe_keys() -> None:
    error = dedupe_key(parse_webhook_event(body.engagement_error()))
    assert error == '["ENGAGEMENT_ERROR","corr-start","ENGAGEMENT_CREATION_FAILED","dlg-1"]'
    created = dedupe_key(parse_webhook_event(body.engagement_created()))
    assert created == '["ENGAGEMENT_CREATED","dlg-1"]'
    assert dedupe_key(parse_webhook_event(body.typing())) is None


def test_route_keys_in_order() -> None:
    assert route_keys(parse_webhook_event(body.participant())) == [
        (RouteKind.DIALOG, body.DIALOG),
        (RouteKind.PROVIDER_DIALOG, body.PROVIDER_DIALOG),
        (RouteKind.SESSION, body.AXP_SESSION),
        (RouteKind.CORRELATION, "corr-1"),
    ]
    bare = body.engagement_error()
    for name in ("dialogId", "providerDialogId", "sessionId"):
        del bare[name]
    assert route_keys(parse_webhook_event(bare)) == [(RouteKind.CORRELATION, "corr-start")]
    typing = body.typing()  # TYPING has no sessionId
    assert [k for k, _ in route_keys(parse_webhook_event(typing))] == [
        RouteKind.DIALOG,
        RouteKind.PROVIDER_DIALOG,
        RouteKind.CORRELATION,
    ]


# --- participants --------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["AGENT", "BOT", "SUPERVISOR", "SYSTEM"])
def test_contact_centre_participant_joins(type_: str) -> None:
    result = mapped(body.participant("PARTICIPANT_ADDED", type_))
    who = {"id": "agent-p", "type": type_, "name": "Andy Morgan"}
    assert result == Mapped(
        replace(OPEN, participants=frozenset({"agent-c"})),
        (Emit({"type": "participant.joined", "at": AT, "participant": who}),),
    )


def test_participant_without_id_type_or_name() -> None:
    raw = body.participant("PARTICIPANT_ADDED", None, participant_id=None, name=None)
    [event] = emitted(mapped(raw))
    assert event["participant"] == {"id": "agent-c", "type": "UNKNOWN"}


@pytest.mark.parametrize(
    "raw",
    [
        body.participant("PARTICIPANT_ADDED", "CUSTOMER", participant_id="cust-p"),
        body.participant("PARTICIPANT_ADDED", None, participant_id="cust-p"),
    ],
    ids=["typed", "known-id"],
)
def test_the_customer_joining_is_not_an_event(raw: dict[str, Any]) -> None:
    assert mapped(raw) == Mapped(OPEN)


@pytest.mark.parametrize("state", [ChatState.ENDED])
def test_nobody_joins_an_ended_chat(state: ChatState) -> None:
    chat = replace(OPEN, state=state)
    assert mapped(body.participant("PARTICIPANT_ADDED"), chat) == Mapped(chat)


def test_a_bot_greeting_before_create_engagement_answers_is_mapped_by_provider_dialog() -> None:
    greeting = body.participant("PARTICIPANT_ADDED", "BOT")
    assert mapped(greeting, STARTING) == Mapped(STARTING, (Park(),))  # until chat.started
    result = mapped(greeting, OPENED_BY_PROVIDER_DIALOG)
    assert [e["type"] for e in emitted(result)] == ["participant.joined"]
    assert result.chat.participants == {"agent-c"}


def test_events_of_a_starting_chat_that_cannot_be_matched_yet_are_parked() -> None:
    raw = body.participant("PARTICIPANT_ADDED", "BOT")
    del raw["providerDialogId"]
    assert mapped(raw, STARTING) == Mapped(STARTING, (Park(),))


@pytest.mark.parametrize(
    "raw",
    [
        body.participant("PARTICIPANT_ADDED", dialogId="old-dialog"),
        body.message(dialogId="old-dialog"),
        body.typing(dialogId="old-dialog"),
        body.engagement_error(dialogId="old-dialog"),
    ],
    ids=["participant", "message", "typing", "error"],
)
def test_events_of_another_dialog_are_ignored(raw: dict[str, Any]) -> None:
    assert mapped(raw) == Mapped(OPEN)


def test_events_with_no_chat_are_ignored() -> None:
    none = ChatView(ChatState.NONE)
    assert mapped(body.message(), none) == Mapped(none)


def test_an_agent_leaving_while_another_stays_keeps_the_chat() -> None:
    chat = replace(OPEN, participants=frozenset({"agent-c", "other-c"}))
    result = mapped(body.participant("PARTICIPANT_DISCONNECTED"), chat)
    assert result.chat.participants == {"other-c"}
    assert [type(d) for d in result.decisions] == [Emit]
    assert result.decisions[0] == Emit(
        events.participant_left(NOW, events.participant("agent-p", "AGENT", "Andy Morgan"))
    )


def test_the_last_contact_centre_participant_leaving_asks_for_a_check() -> None:
    result = mapped(body.participant("PARTICIPANT_DISCONNECTED"), WITH_AGENT)
    assert result.chat.participants == frozenset()
    assert [type(d) for d in result.decisions] == [Emit, CheckEngagement]
    assert result.decisions[1] == CheckEngagement(body.ENGAGEMENT, body.DIALOG)


def test_leaving_while_ending_or_ended_asks_nothing() -> None:
    for state in (ChatState.ENDING, ChatState.ENDED):
        chat = replace(WITH_AGENT, state=state)
        result = mapped(body.participant("PARTICIPANT_DISCONNECTED"), chat)
        assert [type(d) for d in result.decisions] == [Emit]


def test_an_unknown_participant_leaving_is_checked_not_announced() -> None:
    raw = body.participant("PARTICIPANT_DISCONNECTED", None, participant_id=None)
    result = mapped(raw, OPEN)
    assert result.decisions == (CheckEngagement(body.ENGAGEMENT, body.DIALOG),)
    # one we saw join is announced
    result = mapped(raw, WITH_AGENT)
    assert [type(d) for d in result.decisions] == [Emit, CheckEngagement]


def test_the_customer_disconnected_by_axp_ends_the_chat_by_agent() -> None:
    raw = body.participant("PARTICIPANT_DISCONNECTED", "CUSTOMER", participant_id="cust-p")
    ended = events.chat_ended(
        NOW,
        engagement_id=body.ENGAGEMENT,
        dialog_id=body.DIALOG,
        by=EndedBy.AGENT,
        reason=ChatEndReason.AGENT_CLOSED,
    )
    assert mapped(raw) == Mapped(OPEN, (EndChat(ended),))
    assert mapped(raw, STARTING) == Mapped(STARTING, (Park(),))


@pytest.mark.parametrize("state", [ChatState.ENDING, ChatState.ENDED])
def test_the_customer_disconnect_after_our_end_changes_nothing(state: ChatState) -> None:
    chat = replace(OPEN, state=state)
    raw = body.participant("PARTICIPANT_DISCONNECTED", "CUSTOMER", participant_id="cust-p")
    assert mapped(raw, chat) == Mapped(chat)


def test_while_the_session_ends_the_disconnects_of_its_chat_close_nothing() -> None:
    """A logout or inactivity disconnects the chat and closes it with its own reason: AXP's
    news of the customer (or the last agent) leaving, which that disconnect causes, is not
    the agent closing the chat, however fast it comes."""
    ending = replace(WITH_AGENT, session_ending=True)
    customer = body.participant("PARTICIPANT_DISCONNECTED", "CUSTOMER", participant_id="cust-p")
    assert mapped(customer, ending) == Mapped(ending)
    agent = mapped(body.participant("PARTICIPANT_DISCONNECTED"), ending)
    assert [type(d) for d in agent.decisions] == [Emit]  # announced, not checked


# --- messages ------------------------------------------------------------------------------


def test_an_agent_message_goes_through_the_hold_and_restarts_the_idle_clock() -> None:
    result = mapped(body.message())
    assert result == Mapped(
        OPEN,
        (
            Order(
                {
                    "type": "message",
                    "at": AT,
                    "messageId": "msg-6",
                    "index": 6,
                    "from": {"id": "agent-p", "type": "AGENT", "name": "Jane Doe"},
                    "elementType": "text",
                    "text": "Select a variant",
                    "format": "PLAINTEXT",
                }
            ),
            ArmChatIdle(),
        ),
        6,
        body.DIALOG,
    )


@pytest.mark.parametrize("type_", ["BOT", "SUPERVISOR", "SYSTEM", "SOMETHING_NEW"])
def test_messages_from_every_contact_centre_type(type_: str) -> None:
    [event] = emitted(mapped(body.message(sender_type=type_)))
    assert event["from"]["type"] == type_


def test_a_rich_message_keeps_everything() -> None:
    rich = {
        "actions": [{"type": "reply", "text": "Yes", "payload": "Y", "future": 1}],
        "coordinates": {"lat": 1.5, "long": 2.5},
    }
    attachment = {
        "attachmentId": "att-1",
        "name": "a.png",
        "size": 10,
        "contentType": "image/png",
        "url": "/v1/media/att-1",
    }
    raw = body.message(
        text=None,
        index=None,
        message_id=None,
        senderParticipantName="",
        fallbackText="fallback",
        attachments=[attachment],
    )
    raw["body"] = {"elementType": "image", "payload": "{}", "richMediaPayload": rich}
    [event] = emitted(mapped(raw))
    assert event == {
        "type": "message",
        "at": AT,
        "from": {"id": "agent-p", "type": "AGENT"},
        "elementType": "image",
        "format": "PLAINTEXT",
        "fallbackText": "fallback",
        "payload": "{}",
        "richMedia": rich,
        "attachments": [attachment],
    }


def test_message_format_is_passed_on_and_defaults_to_plaintext() -> None:
    raw = body.message()
    raw["body"]["elementText"] = {"text": "<b>x</b>", "textFormat": "HTML"}
    assert emitted(mapped(raw))[0]["format"] == "HTML"
    raw["body"]["elementText"] = {"text": "x"}
    assert emitted(mapped(raw))[0]["format"] == "PLAINTEXT"


def test_our_own_message_settles_the_send_and_is_not_echoed() -> None:
    raw = body.message(
        sender_type="CUSTOMER", index=7, message_id="msg-7", providerMessageId="s-1:c-1"
    )
    result = mapped(raw)
    sent = SendContent("text", "Select a variant", "PLAINTEXT")
    assert result.decisions == (SettleOutbox("s-1:c-1", 7, "msg-7", sent),)
    assert result.chat == OPEN
    assert (result.index, result.dialog_id) == (7, body.DIALOG)


@pytest.mark.parametrize("pmid", [None, "s-2:c-1", "s-1"])
def test_a_customer_message_not_ours_only_moves_the_hold_on(pmid: str | None) -> None:
    raw = body.message(sender_type="CUSTOMER", index=7)
    if pmid is not None:
        raw["providerMessageId"] = pmid
    assert mapped(raw) == Mapped(OPEN, (Order(None),), 7, body.DIALOG)
    del raw["messageIndex"]
    assert mapped(raw) == Mapped(OPEN, (), None, body.DIALOG)


# --- typing, errors, engagement created ----------------------------------------------------


def test_agent_typing_is_ephemeral() -> None:
    result = mapped(body.typing())
    assert result.decisions == (
        Broadcast(events.typing(NOW, events.participant("agent-p", "AGENT", "Jane Doe"))),
    )
    unnamed = mapped(body.typing(senderParticipantDisplayName=""))
    assert unnamed.decisions == (Broadcast(events.typing(NOW, {"id": "agent-p", "type": "AGENT"})),)


def test_customer_typing_or_typing_after_the_end_is_dropped() -> None:
    assert mapped(body.typing("CUSTOMER")) == Mapped(OPEN)
    ended = replace(OPEN, state=ChatState.ENDED)
    assert mapped(body.typing(), ended) == Mapped(ended)


def test_engagement_creation_failed_reports_and_ends_the_chat() -> None:
    result = mapped(body.engagement_error())
    assert result.decisions == (
        Emit(
            events.chat_error(
                NOW,
                code="ENGAGEMENT_CREATION_FAILED",
                title="Error occurred while creating an engagement",
                detail="Unable to create an engagement",
            )
        ),
        EndChat(
            events.chat_ended(
                NOW,
                engagement_id=body.ENGAGEMENT,
                dialog_id=body.DIALOG,
                by=EndedBy.SYSTEM,
                reason=ChatEndReason.SYSTEM_CLOSED,
            )
        ),
    )


def test_creation_failed_while_starting_matched_by_correlation_id() -> None:
    raw = body.engagement_error()
    for name in ("engagementId", "dialogId", "providerDialogId", "detail"):
        del raw[name]
    assert mapped(raw, STARTING) == Mapped(STARTING, (Park(),))
    result = mapped(raw, OPENED_BY_PROVIDER_DIALOG)
    assert [type(d) for d in result.decisions] == [Emit, EndChat]
    assert result.decisions[0] == Emit(
        {
            "type": "chat.error",
            "at": AT,
            "code": "ENGAGEMENT_CREATION_FAILED",
            "title": "Error occurred while creating an engagement",
        }
    )
    assert result.decisions[1] == EndChat(
        {"type": "chat.ended", "at": AT, "by": "system", "reason": "SYSTEM_CLOSED"}
    )


def test_other_engagement_errors_are_checked() -> None:
    result = mapped(body.engagement_error("MESSAGE_DELIVERY_FAILED"))
    assert [type(d) for d in result.decisions] == [Emit, CheckEngagement]
    first = result.decisions[0]
    assert isinstance(first, Emit)
    assert first.event["code"] == "MESSAGE_DELIVERY_FAILED"
    raw = body.engagement_error("MESSAGE_DELIVERY_FAILED")
    for name in ("engagementId", "dialogId", "providerDialogId"):
        del raw[name]
    assert [type(d) for d in mapped(raw, STARTING).decisions] == [Park]
    assert [type(d) for d in mapped(raw, OPENED_BY_PROVIDER_DIALOG).decisions] == [Emit]


def test_errors_after_the_chat_ended_or_from_strangers_are_ignored() -> None:
    ended = replace(OPEN, state=ChatState.ENDED)
    assert mapped(body.engagement_error(), ended) == Mapped(ended)
    raw = body.engagement_error(correlation_id="someone-else")
    for name in ("dialogId", "providerDialogId"):
        del raw[name]
    assert mapped(raw) == Mapped(OPEN)


def test_engagement_created_confirms_the_start_we_are_waiting_for() -> None:
    assert mapped(body.engagement_created(), STARTING).decisions == (
        ConfirmStart(body.ENGAGEMENT, body.DIALOG),
    )
    assert mapped(body.engagement_created()) == Mapped(OPEN)
    stranger = body.engagement_created(providerDialogId="someone-else")
    assert mapped(stranger, STARTING) == Mapped(STARTING)


# --- Get Engagement ------------------------------------------------------------------------


def engagement(status: str, *connections: tuple[str, str]) -> chat_in_gen.Engagement:
    return chat_in_gen.Engagement.model_validate(
        {
            "engagementId": body.ENGAGEMENT,
            "accountId": body.ACCOUNT,
            "url": "/x",
            "dialogs": [
                {
                    "dialogId": "other",
                    "channelId": "Chat",
                    "dialogStatus": "TERMINATED",
                    "initiatorParticipantId": "c",
                    "connections": [],
                    "createdAt": body.DATE,
                    "lastUpdatedAt": body.DATE,
                },
                {
                    "dialogId": body.DIALOG,
                    "channelId": "Chat",
                    "dialogStatus": status,
                    "initiatorParticipantId": "c",
                    "connections": [
                        {
                            "connectionId": f"c{i}",
                            "participantId": f"p{i}",
                            "participantType": t,
                            "connectionState": s,
                        }
                        for i, (t, s) in enumerate(connections)
                    ],
                    "createdAt": body.DATE,
                    "lastUpdatedAt": body.DATE,
                },
            ],
        }
    )


@pytest.mark.parametrize(
    ("status", "connections", "over"),
    [
        ("TERMINATED", [("CUSTOMER", "CONNECTED")], True),
        ("TERMINATING", [("CUSTOMER", "CONNECTED")], True),
        ("ACTIVE", [("CUSTOMER", "CONNECTED")], False),
        ("ACTIVE", [("CUSTOMER", "DISCONNECTED"), ("AGENT", "CONNECTED")], True),
        ("ACTIVE", [("AGENT", "DISCONNECTED")], False),
        ("PENDING", [], False),
    ],
)
def test_chat_over(status: str, connections: list[tuple[str, str]], over: bool) -> None:
    assert chat_over(engagement(status, *connections), body.DIALOG) is over


def test_a_dialog_missing_from_the_engagement_is_over() -> None:
    assert chat_over(engagement("ACTIVE", ("CUSTOMER", "CONNECTED")), "gone") is True
