"""The session and chat lifecycle as data (PROTOCOL.md §1-3, DESIGN "Lifecycle mapping").

Two tables, as in h11:
- `BIND`: what a *connection* may send before and after it is bound to a session (only `login`
  and `resume` before, `unauthorized` otherwise; neither after, `invalid_state`).
- `NEXT`: a session's `Phase` (session state and chat state) and an `Input` (a client command, or
  something that happened: an AXP answer, a webhook, a timer) → the next phase and an `Outcome`
  telling the session layer what to do. `step()` raises `InvalidState` (or `NotFound` once the
  session has ended) for a pair that is not in the table; the phase passed in is a value and so
  is never changed. `attempt()` is `step()` answering None instead of raising. Every change of
  a session's state is one of these moves (`SessionRecords.step`, `Closing`, the intake).

Decisions where PROTOCOL.md is silent (recorded in docs/protocol.md):
- `end` with no chat, or while it is already ending or ended: `ok`, nothing to do (NOOP).
- `start` or `end` while a chat is STARTING, `start` while one is ENDING: `invalid_state`.
- `send` is allowed only in OPEN (STARTING answers `invalid_state`: wait for `start`'s answer).
- `history` needs a dialog: OPEN, ENDING or ENDED.
- Any command on an ended session: `not_found`; while the session is ENDING (logout in
  progress) only `ack`, `ping` and another `logout` (NOOP) are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from axp_chat_connector.errors import InvalidState, NotFound, Unauthorized
from axp_chat_connector.protocol.codes import CommandType


class Binding(Enum):
    UNBOUND = auto()
    BOUND = auto()


class SessionState(Enum):
    ACTIVE = auto()
    ENDING = auto()
    ENDED = auto()


class ChatState(Enum):
    NONE = auto()
    STARTING = auto()
    OPEN = auto()
    ENDING = auto()
    ENDED = auto()


class Input(Enum):
    # client commands that act on a session (login creates one: INITIAL)
    RESUME = auto()
    CONTEXT = auto()
    IDENTIFY = auto()
    START = auto()
    SEND = auto()
    HISTORY = auto()
    END = auto()
    LOGOUT = auto()
    ACK = auto()
    PING = auto()
    # what happened
    CHAT_OPENED = auto()
    """Create Engagement answered (or its dialog was found after a timeout)."""
    START_FAILED = auto()
    """Create Engagement failed for good."""
    CHAT_CLOSED = auto()
    """The chat is over: our Disconnect done, agent closed, AXP confirmed, creation failed."""
    END_FAILED = auto()
    """Disconnect Engagement failed for good: the chat stays open."""
    CHAT_IDLE_WARNING = auto()
    """The chat inactivity warning timer ran out: warn the customer (`chat.idle`) if the chat
    is still open."""
    CHAT_IDLE = auto()
    """The chat inactivity timer ran out: end it (`USER_INACTIVE`)."""
    SESSION_IDLE = auto()
    """The session inactivity timer ran out: end the chat and delete the session."""
    AXP_SESSION_GONE = auto()
    """AXP answered 404 for the customer's AXP session."""
    SESSION_CLOSED = auto()
    """Delete Session done (after logout or session idle)."""


class Outcome(Enum):
    PROCEED = auto()
    """Do the work of the input (the AXP call, the event)."""
    NOOP = auto()
    """Answer `ok` (for a command) and do nothing else."""
    ALREADY_OPEN = auto()
    """`start` while a chat is open: answer the open chat's ids, open nothing."""
    RECREATE_AXP_SESSION = auto()
    """No chat open: create a new AXP session, invisibly, and carry on."""
    END_CHAT_AND_SESSION = auto()
    """A chat was open: `chat.ended` (system) then `session.ended` (UNKNOWN)."""


@dataclass(frozen=True, slots=True)
class Phase:
    session: SessionState
    chat: ChatState


@dataclass(frozen=True, slots=True)
class Move:
    phase: Phase
    outcome: Outcome


INITIAL: Final = Phase(SessionState.ACTIVE, ChatState.NONE)
"""A session right after a successful `login`."""

COMMAND_INPUT: Final[Mapping[CommandType, Input]] = {
    CommandType.RESUME: Input.RESUME,
    CommandType.CONTEXT: Input.CONTEXT,
    CommandType.IDENTIFY: Input.IDENTIFY,
    CommandType.START: Input.START,
    CommandType.SEND: Input.SEND,
    CommandType.HISTORY: Input.HISTORY,
    CommandType.END: Input.END,
    CommandType.LOGOUT: Input.LOGOUT,
    CommandType.ACK: Input.ACK,
    CommandType.PING: Input.PING,
}
"""The session input of each command but `login` (which creates the session)."""

COMMANDS: Final = frozenset(COMMAND_INPUT.values())

BIND: Final[Mapping[tuple[Binding, CommandType], Binding]] = {
    (Binding.UNBOUND, CommandType.LOGIN): Binding.BOUND,
    (Binding.UNBOUND, CommandType.RESUME): Binding.BOUND,
    **{
        (Binding.BOUND, command): Binding.BOUND
        for command in CommandType
        if command not in (CommandType.LOGIN, CommandType.RESUME)
    },
}
"""The binding a connection has once the command succeeded."""


def admit(binding: Binding, command: CommandType) -> Binding:
    """Check that a connection may send `command` now; the binding after it succeeds."""
    try:
        return BIND[binding, command]
    except KeyError:
        if binding is Binding.UNBOUND:
            raise Unauthorized("log in or resume a session first") from None
        raise InvalidState(f"{command.value} on a connection already bound to a session") from None


def _table() -> dict[tuple[Phase, Input], Move]:
    table: dict[tuple[Phase, Input], Move] = {}

    def put(session: SessionState, chat: ChatState, what: Input, to: Phase, out: Outcome) -> None:
        table[Phase(session, chat), what] = Move(to, out)

    active, ending, ended = SessionState.ACTIVE, SessionState.ENDING, SessionState.ENDED
    proceed, noop = Outcome.PROCEED, Outcome.NOOP
    for chat in ChatState:
        here = Phase(active, chat)
        for what in (Input.RESUME, Input.CONTEXT, Input.IDENTIFY, Input.ACK, Input.PING):
            put(active, chat, what, here, proceed)
        put(active, chat, Input.LOGOUT, Phase(ending, chat), proceed)
        put(active, chat, Input.SESSION_IDLE, Phase(ending, chat), proceed)
        # while logging out: keep-alives and repeats only
        for what in (Input.ACK, Input.PING):
            put(ending, chat, what, Phase(ending, chat), proceed)
        for what in (Input.LOGOUT, Input.SESSION_IDLE, Input.AXP_SESSION_GONE):
            put(ending, chat, what, Phase(ending, chat), noop)
        closed_chat = chat if chat in (ChatState.NONE, ChatState.ENDED) else ChatState.ENDED
        put(ending, chat, Input.SESSION_CLOSED, Phase(ended, closed_chat), proceed)
        if chat in (ChatState.NONE, ChatState.ENDED):
            put(active, chat, Input.AXP_SESSION_GONE, here, Outcome.RECREATE_AXP_SESSION)
        else:
            put(
                active,
                chat,
                Input.AXP_SESSION_GONE,
                Phase(ended, ChatState.ENDED),
                Outcome.END_CHAT_AND_SESSION,
            )
        # late happenings after the session ended change nothing
        for what in Input:
            if what not in COMMANDS:
                put(ended, chat, what, Phase(ended, chat), noop)

    _chat_life(put)

    for chat in (ChatState.NONE, ChatState.ENDED):
        put(active, chat, Input.START, Phase(active, ChatState.STARTING), proceed)
        put(active, chat, Input.END, Phase(active, chat), noop)
    put(active, ChatState.OPEN, Input.START, Phase(active, ChatState.OPEN), Outcome.ALREADY_OPEN)
    put(active, ChatState.OPEN, Input.SEND, Phase(active, ChatState.OPEN), proceed)
    put(active, ChatState.OPEN, Input.END, Phase(active, ChatState.ENDING), proceed)
    put(active, ChatState.ENDING, Input.END, Phase(active, ChatState.ENDING), noop)
    for chat in (ChatState.OPEN, ChatState.ENDING, ChatState.ENDED):
        put(active, chat, Input.HISTORY, Phase(active, chat), proceed)
    return table


def _chat_life(put: Callable[[SessionState, ChatState, Input, Phase, Outcome], None]) -> None:
    """The chat's own life, which goes on while a logout is in progress."""
    proceed, noop = Outcome.PROCEED, Outcome.NOOP
    for session in (SessionState.ACTIVE, SessionState.ENDING):
        for chat in ChatState:
            live = chat in (ChatState.STARTING, ChatState.OPEN, ChatState.ENDING)
            to = ChatState.ENDED if live else chat
            put(session, chat, Input.CHAT_CLOSED, Phase(session, to), proceed if live else noop)
        put(session, ChatState.STARTING, Input.CHAT_OPENED, Phase(session, ChatState.OPEN), proceed)
        put(
            session, ChatState.STARTING, Input.START_FAILED, Phase(session, ChatState.NONE), proceed
        )
        put(session, ChatState.ENDING, Input.END_FAILED, Phase(session, ChatState.OPEN), proceed)
        put(session, ChatState.OPEN, Input.CHAT_IDLE, Phase(session, ChatState.ENDING), proceed)
        for chat in ChatState:
            opened = chat is ChatState.OPEN
            here = Phase(session, chat)
            put(session, chat, Input.CHAT_IDLE_WARNING, here, proceed if opened else noop)
            if not opened:
                put(session, chat, Input.CHAT_IDLE, here, noop)


NEXT: Final[Mapping[tuple[Phase, Input], Move]] = _table()


def step(phase: Phase, what: Input) -> Move:
    """The move for `what` in `phase`; raises (and changes nothing) if it is not allowed."""
    try:
        return NEXT[phase, what]
    except KeyError:
        pass
    if phase.session is SessionState.ENDED:
        raise NotFound("the session has ended")
    if phase.session is SessionState.ENDING:
        raise InvalidState("the session is ending")
    raise InvalidState(_why(phase.chat, what))


def attempt(phase: Phase, what: Input) -> Move | None:
    """The move for `what` in `phase`, or None where the table has none (for happenings that
    may simply no longer apply, e.g. Create Engagement failing after the chat was closed)."""
    return NEXT.get((phase, what))


def _why(chat: ChatState, what: Input) -> str:
    if what in COMMANDS:
        return f"{what.name.lower()} is not allowed while the chat is {chat.name.lower()}"
    return f"{what.name} does not apply while the chat is {chat.name.lower()}"
