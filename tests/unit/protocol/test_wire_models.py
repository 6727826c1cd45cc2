"""The wire models say what the builders build: every event builder's output, every `ok` shape
and every error frame validates against its model and dumps back to the same dict."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from axp_chat_connector import errors
from axp_chat_connector.protocol import codec, events, wire_answers, wire_events
from axp_chat_connector.protocol.codes import (
    AnswerType,
    ChatEndReason,
    CommandType,
    EndedBy,
    EventType,
    SessionEndReason,
)
from axp_chat_connector.protocol.frames import Seq

AT = datetime(2026, 11, 25, 13, 0, 5, 123456, tzinfo=UTC)
AGENT = events.participant("p1", "AGENT", "Andy")
CUSTOMER = events.participant("c1", "CUSTOMER")


def _built_events() -> list[dict[str, Any]]:
    """Each builder, with its optional fields given and left out."""
    return [
        events.chat_started(AT, engagement_id="e", dialog_id="d"),
        events.participant_joined(AT, AGENT),
        events.participant_left(AT, events.participant("x", "UNKNOWN")),
        events.message(AT, sender=AGENT, element_type="TEXT", text="hi"),
        events.message(AT, sender=AGENT, element_type="RICH_MEDIA", format="HTML"),
        events.message(
            AT,
            sender=CUSTOMER,
            element_type="TEXT",
            text="hello",
            format="MARKDOWN",
            message_id="m1",
            client_message_id="c7",
            index=0,
            fallback_text="hello",
            payload="p",
            rich_media={"type": "IMAGE", "url": "https://example.com/a.png"},
            attachments=[{"name": "a.pdf"}],
        ),
        events.message_failed(AT, client_message_id="c", code="upstream_rejected", detail={}),
        events.message_failed(AT, client_message_id="c", code="invalid_state", detail="ended"),
        events.typing(AT, AGENT),
        events.chat_ended(
            AT,
            engagement_id="e",
            dialog_id="d",
            by=EndedBy.AGENT,
            reason=ChatEndReason.AGENT_CLOSED,
        ),
        events.chat_ended(
            AT,
            engagement_id=None,
            dialog_id=None,
            by=EndedBy.SYSTEM,
            reason=ChatEndReason.SYSTEM_CLOSED,
        ),
        events.chat_error(AT, code="ENGAGEMENT_CREATION_FAILED", title="T"),
        events.chat_error(AT, code="X", title="T", detail="more"),
        events.chat_idle(AT, ends_at=AT + timedelta(seconds=60)),
        events.session_token(AT, token="t", expires_at=AT + timedelta(hours=24)),
        events.session_ended(AT, reason=SessionEndReason.USER_INACTIVE),
    ]


def _as_sent(event: dict[str, Any], seq: int = 7) -> dict[str, Any]:
    return events.with_seq(event, Seq(seq)) if events.is_durable(event) else event


def _round_trip(model: type[BaseModel], frame: dict[str, Any]) -> None:
    parsed = model.model_validate(frame)
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == frame


@pytest.mark.parametrize("event", _built_events(), ids=lambda e: str(e["type"]))
def test_every_built_event_is_its_model(event: dict[str, Any]) -> None:
    sent = _as_sent(event)
    _round_trip(wire_events.EVENT_MODELS[EventType(sent["type"])], sent)


def test_every_builder_and_event_type_is_covered() -> None:
    builders = {
        name
        for name, function in inspect.getmembers(events, inspect.isfunction)
        if function.__module__ == events.__name__
        and inspect.signature(function).parameters
        and next(iter(inspect.signature(function).parameters)) == "at"
    }
    assert {e["type"] for e in _built_events()} == {t.value for t in EventType}
    assert len(builders) == len(EventType), builders
    assert set(wire_events.EVENT_MODELS) == set(EventType)


def test_a_durable_event_needs_its_seq_and_typing_has_none() -> None:
    started = events.chat_started(AT, engagement_id="e", dialog_id="d")
    with pytest.raises(ValidationError, match="seq"):
        wire_events.ChatStarted.model_validate(started)
    with pytest.raises(ValidationError, match="seq"):
        wire_events.Typing.model_validate(events.with_seq(events.typing(AT, AGENT), Seq(3)))


def test_a_field_the_model_does_not_know_is_refused() -> None:
    drifted = {**_as_sent(events.session_ended(AT, reason=SessionEndReason.UNKNOWN)), "why": "x"}
    with pytest.raises(ValidationError, match="why"):
        wire_events.SessionEnded.model_validate(drifted)


def test_history_messages_carry_no_seq() -> None:
    message = events.message(AT, sender=AGENT, element_type="TEXT", text="hi")
    answer = codec.ok("h1", messages=[message])
    _round_trip(wire_answers.HistoryOk, answer)
    with pytest.raises(ValidationError):
        wire_answers.HistoryOk.model_validate(
            codec.ok("h1", messages=[events.with_seq(message, Seq(1))])
        )


OK_ANSWERS: list[tuple[CommandType, dict[str, Any]]] = [
    (
        CommandType.LOGIN,
        codec.ok(
            "l1",
            sessionId="s",
            token="t",
            expiresAt=events.timestamp(AT),
            seq=0,
            heartbeat=20,
        ),
    ),
    (
        CommandType.RESUME,
        codec.ok(
            "r1", sessionId="s", seq=9, token="t", expiresAt=events.timestamp(AT), heartbeat=20
        ),
    ),
    (CommandType.CONTEXT, codec.ok("x1")),
    (CommandType.IDENTIFY, codec.ok("i1")),
    (CommandType.START, codec.ok("s1", engagementId="e", dialogId="d")),
    (CommandType.SEND, codec.ok("s2", status="accepted")),
    (CommandType.HISTORY, codec.ok("h1", messages=[])),
    (CommandType.END, codec.ok("e1")),
    (CommandType.LOGOUT, codec.ok("o1")),
    (CommandType.ACK, codec.ok("a1")),
    (CommandType.ACK, codec.ok(None)),
    (CommandType.PING, codec.ok("p1")),
]


@pytest.mark.parametrize(("command", "answer"), OK_ANSWERS, ids=lambda v: str(v))
def test_every_ok_shape_is_its_model(command: CommandType, answer: dict[str, Any]) -> None:
    _round_trip(wire_answers.OK_MODELS[command], answer)


def test_every_command_has_an_ok_model_and_only_ack_may_lack_re() -> None:
    assert set(wire_answers.OK_MODELS) == set(CommandType)
    for command, model in wire_answers.OK_MODELS.items():
        if command is not CommandType.ACK:
            with pytest.raises(ValidationError, match="re"):
                model.model_validate({"type": AnswerType.OK.value})


def _error_classes() -> list[type[errors.ConnectorError]]:
    found = [errors.ConnectorError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found


def _instance(cls: type[errors.ConnectorError]) -> errors.ConnectorError:
    if issubclass(cls, errors.Gap):
        return cls(12)
    if issubclass(cls, errors.AxpRejected):
        return cls(422, problem_title="Bad", problem_detail="x", violations=[{"field": "f"}])
    if issubclass(cls, errors.RateLimited):
        return cls(retry_after=2.4)
    if "detail" in inspect.signature(cls).parameters:
        return cls("went wrong", detail=[{"field": "text", "message": "too long"}])
    return cls("went wrong")


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_frame_and_problem_is_its_model(cls: type[errors.ConnectorError]) -> None:
    error = _instance(cls)
    _round_trip(wire_answers.Error, codec.error(error, "c1"))
    _round_trip(wire_answers.Error, codec.error(error))
    _round_trip(wire_answers.Problem, errors.to_problem(error))


def test_the_error_codes_are_exactly_those_the_errors_carry() -> None:
    codes = {cls.code for cls in _error_classes()}
    assert codes <= set(wire_answers.ErrorCode)
    documented = {"gap", "rate_limited", "upstream_rejected", "forbidden", "too_large"}
    assert documented <= codes
    invalid = codec.error(errors.BadRequest("x"), "c1") | {"code": "oops"}
    with pytest.raises(ValidationError, match="code"):
        wire_answers.Error.model_validate(invalid)


def test_the_long_poll_envelope_holds_any_event() -> None:
    sent = [_as_sent(e, seq) for seq, e in enumerate(_built_events(), start=1)]
    _round_trip(wire_answers.PollEvents, {"events": sent, "seq": len(sent)})
