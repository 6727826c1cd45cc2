"""The lifecycle tables, walked exhaustively (h11 test_state.py style)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axp_chat_connector.errors import InvalidState, NotFound, Unauthorized
from axp_chat_connector.protocol.codes import CommandType
from axp_chat_connector.sessions.lifecycle import (
    BIND,
    COMMAND_INPUT,
    COMMANDS,
    INITIAL,
    NEXT,
    Binding,
    ChatState,
    Input,
    Move,
    Outcome,
    Phase,
    SessionState,
    admit,
    attempt,
    step,
)

A, G, E = SessionState.ACTIVE, SessionState.ENDING, SessionState.ENDED
NONE, STARTING, OPEN, ENDING, ENDED = (
    ChatState.NONE,
    ChatState.STARTING,
    ChatState.OPEN,
    ChatState.ENDING,
    ChatState.ENDED,
)
P, N = Outcome.PROCEED, Outcome.NOOP
ALL_PHASES = [Phase(s, c) for s in SessionState for c in ChatState]

# The whole table, written out by hand: (session, chat, input) -> (session, chat, outcome).
EXPECTED: dict[tuple[SessionState, ChatState, Input], tuple[SessionState, ChatState, Outcome]] = {}


def _expect(
    s: SessionState, c: ChatState, what: Input, s2: SessionState, c2: ChatState, out: Outcome = P
) -> None:
    EXPECTED[s, c, what] = (s2, c2, out)


for _c in ChatState:
    for _what in (Input.RESUME, Input.CONTEXT, Input.IDENTIFY, Input.ACK, Input.PING):
        _expect(A, _c, _what, A, _c)
    _expect(A, _c, Input.LOGOUT, G, _c)
    _expect(A, _c, Input.SESSION_IDLE, G, _c)
    _expect(G, _c, Input.ACK, G, _c)
    _expect(G, _c, Input.PING, G, _c)
    _expect(G, _c, Input.LOGOUT, G, _c, N)
    _expect(G, _c, Input.SESSION_IDLE, G, _c, N)
    _expect(G, _c, Input.AXP_SESSION_GONE, G, _c, N)
    _expect(G, _c, Input.SESSION_CLOSED, E, _c if _c in (NONE, ENDED) else ENDED)
    for _s in (A, G):
        _live = _c in (STARTING, OPEN, ENDING)
        _expect(_s, _c, Input.CHAT_CLOSED, _s, ENDED if _live else _c, P if _live else N)
        _expect(_s, _c, Input.CHAT_IDLE, _s, ENDING if _c is OPEN else _c, P if _c is OPEN else N)
        _expect(_s, _c, Input.CHAT_IDLE_WARNING, _s, _c, P if _c is OPEN else N)
    for _what in Input:
        if _what not in COMMANDS:
            _expect(E, _c, _what, E, _c, N)
for _c in (NONE, ENDED):
    _expect(A, _c, Input.AXP_SESSION_GONE, A, _c, Outcome.RECREATE_AXP_SESSION)
    _expect(A, _c, Input.START, A, STARTING)
    _expect(A, _c, Input.END, A, _c, N)
for _c in (STARTING, OPEN, ENDING):
    _expect(A, _c, Input.AXP_SESSION_GONE, E, ENDED, Outcome.END_CHAT_AND_SESSION)
for _s in (A, G):
    _expect(_s, STARTING, Input.CHAT_OPENED, _s, OPEN)
    _expect(_s, STARTING, Input.START_FAILED, _s, NONE)
    _expect(_s, ENDING, Input.END_FAILED, _s, OPEN)
_expect(A, OPEN, Input.START, A, OPEN, Outcome.ALREADY_OPEN)
_expect(A, OPEN, Input.SEND, A, OPEN)
_expect(A, OPEN, Input.END, A, ENDING)
_expect(A, ENDING, Input.END, A, ENDING, N)
for _c in (OPEN, ENDING, ENDED):
    _expect(A, _c, Input.HISTORY, A, _c)


def test_the_table_is_exactly_the_one_written_out() -> None:
    actual = {
        (phase.session, phase.chat, what): (move.phase.session, move.phase.chat, move.outcome)
        for (phase, what), move in NEXT.items()
    }
    assert actual == EXPECTED


@pytest.mark.parametrize("phase", ALL_PHASES, ids=lambda p: f"{p.session.name}-{p.chat.name}")
@pytest.mark.parametrize("what", list(Input), ids=lambda i: i.name)
def test_every_pair_is_a_move_or_an_error_that_changes_nothing(phase: Phase, what: Input) -> None:
    before = Phase(phase.session, phase.chat)
    key = (phase.session, phase.chat, what)
    if key in EXPECTED:
        session, chat, outcome = EXPECTED[key]
        assert step(phase, what) == Move(Phase(session, chat), outcome)
    else:
        expected = NotFound if phase.session is SessionState.ENDED else InvalidState
        with pytest.raises(expected) as caught:
            step(phase, what)
        assert type(caught.value) is expected
    assert phase == before


@pytest.mark.parametrize(
    ("phase", "what", "message"),
    [
        (Phase(A, NONE), Input.SEND, "send is not allowed while the chat is none"),
        (Phase(A, ENDED), Input.SEND, "send is not allowed while the chat is ended"),
        (Phase(A, STARTING), Input.START, "start is not allowed while the chat is starting"),
        (Phase(A, OPEN), Input.CHAT_OPENED, "CHAT_OPENED does not apply while the chat is open"),
        (Phase(G, OPEN), Input.SEND, "the session is ending"),
        (Phase(E, NONE), Input.PING, "the session has ended"),
    ],
)
def test_errors_say_why(phase: Phase, what: Input, message: str) -> None:
    with pytest.raises((InvalidState, NotFound), match=message):
        step(phase, what)


def test_a_normal_life() -> None:
    """login → context → identify → start → send… → end → start again → logout."""
    phase = INITIAL
    script = [
        (Input.CONTEXT, P),
        (Input.IDENTIFY, P),
        (Input.START, P),
        (Input.CHAT_OPENED, P),
        (Input.SEND, P),
        (Input.SEND, P),
        (Input.START, Outcome.ALREADY_OPEN),
        (Input.HISTORY, P),
        (Input.END, P),
        (Input.CHAT_CLOSED, P),
        (Input.CHAT_CLOSED, N),
        (Input.END, N),
        (Input.START, P),
        (Input.CHAT_OPENED, P),
        (Input.LOGOUT, P),
        (Input.CHAT_CLOSED, P),
        (Input.SESSION_CLOSED, P),
    ]
    for what, outcome in script:
        move = step(phase, what)
        assert move.outcome is outcome, what
        phase = move.phase
    assert phase == Phase(E, ENDED)


def test_agent_leaving_and_errors_and_timers() -> None:
    open_ = Phase(A, OPEN)
    assert step(open_, Input.CHAT_CLOSED).phase == Phase(A, ENDED)  # agent closed, creation failed
    idle = step(open_, Input.CHAT_IDLE)
    assert idle == Move(Phase(A, ENDING), P)
    assert step(idle.phase, Input.END_FAILED).phase == open_
    assert step(Phase(A, STARTING), Input.CHAT_CLOSED).phase == Phase(A, ENDED)
    assert step(open_, Input.SESSION_IDLE).phase == Phase(G, OPEN)
    assert step(open_, Input.AXP_SESSION_GONE).outcome is Outcome.END_CHAT_AND_SESSION
    assert step(INITIAL, Input.AXP_SESSION_GONE) == Move(INITIAL, Outcome.RECREATE_AXP_SESSION)
    assert step(open_, Input.CHAT_IDLE_WARNING) == Move(open_, P)
    assert step(idle.phase, Input.CHAT_IDLE_WARNING).outcome is N


@pytest.mark.parametrize("phase", ALL_PHASES, ids=lambda p: f"{p.session.name}-{p.chat.name}")
@pytest.mark.parametrize("what", list(Input), ids=lambda i: i.name)
def test_attempt_is_step_without_the_error(phase: Phase, what: Input) -> None:
    try:
        expected: Move | None = step(phase, what)
    except (InvalidState, NotFound):
        expected = None
    assert attempt(phase, what) == expected


def test_every_command_but_login_has_an_input() -> None:
    assert set(COMMAND_INPUT) == set(CommandType) - {CommandType.LOGIN}
    assert set(COMMAND_INPUT.values()) == COMMANDS


@pytest.mark.parametrize("command", list(CommandType), ids=lambda c: c.value)
@pytest.mark.parametrize("binding", list(Binding), ids=lambda b: b.name)
def test_binding_admits_login_and_resume_first_and_only_then(
    binding: Binding, command: CommandType
) -> None:
    binders = (CommandType.LOGIN, CommandType.RESUME)
    if binding is Binding.UNBOUND and command in binders:
        assert admit(binding, command) is Binding.BOUND
    elif binding is Binding.UNBOUND:
        with pytest.raises(Unauthorized, match="log in or resume"):
            admit(binding, command)
    elif command in binders:
        with pytest.raises(InvalidState, match="already bound"):
            admit(binding, command)
    else:
        assert admit(binding, command) is Binding.BOUND
    assert len(BIND) == 2 + len(CommandType) - 2


@given(st.lists(st.sampled_from(list(Input)), max_size=40))
def test_any_sequence_stays_in_the_table_or_raises(inputs: list[Input]) -> None:
    phase = INITIAL
    for what in inputs:
        try:
            move = step(phase, what)
        except (InvalidState, NotFound):
            continue
        assert (phase, what) in NEXT
        phase = move.phase
        if phase.session is SessionState.ENDED:
            assert phase.chat in (NONE, ENDED)
        # a chat is never left open or half-open by a session that ended
        assert not (phase.session is E and phase.chat in (STARTING, OPEN, ENDING))
