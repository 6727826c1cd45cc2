"""One client connection's protocol, without I/O (as h11's `Connection`, websockets' `Protocol`).

It holds the binding (the session the connection belongs to), the cursor (the last durable seq
delivered), the pacing of commands and the close rules. The transports are shells around it:
they read frames and pass them in, run the commands it hands out through the `ClientService`,
write what it gives back and close when it says so. No awaits, no clock: `now` is passed in.

Frames in (`receive_text` for a WebSocket text frame, `receive_item` for one command of a
long-polling batch) give one `Step`:
- `Reply(frame)`: answer at once (a frame that is not a command, a paced-out command, a
  command the binding does not admit, a `login` over the per-address or per-instance rate of
  `LoginGate`) — the service is not called;
- `Run(command, session_id)`: call `service.execute(command, session_id=…)`, then pass the
  `Answer` to `answered` (or the error to `failed`), write the frame it returns, and call
  `answer_sent`, which says whether to close, or to join the session's hub (`Bound`);
- `Close(code)`: close the connection (a frame too large, a flood of a socket).

Events out (`accept`, `gap`): each event read from the log after the cursor is skipped (already
delivered), written, or written as the last one (`session.ended`: the stream ends; if a command
is being answered, its answer goes first). A `Gap` (the log no longer holds the events after
the cursor) gives the `error` frame `gap` to send and moves the cursor to the oldest kept event.

Modes: `Mode.SOCKET` (WebSocket, SSE) closes on a frame too large and after `flood_strikes`
refusals in a row, and answers an `ack` without `id` with nothing. `Mode.BATCH` (long
polling) answers those with `too_large`/`rate_limited` frames and `ok` without `re`, and refuses
whole requests while flooded (`lockout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, Final

from axp_chat_connector.errors import BadRequest, ConnectorError, Gap, RateLimited, TooLarge
from axp_chat_connector.protocol.codec import InvalidFrame, encode, error, ok, parse_command
from axp_chat_connector.protocol.codes import CloseCode, CommandType, EventType
from axp_chat_connector.protocol.frames import Command
from axp_chat_connector.sessions.lifecycle import Binding, admit
from axp_chat_connector.sessions.service import Answer, Bound
from axp_chat_connector.transports.admission import LoginGate
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.pacing import Pace

Frame = dict[str, Any]

INVALID: Final = "invalid"
"""The metrics label of a frame that is not a command."""
_BINDING: Final = frozenset({CommandType.LOGIN, CommandType.RESUME})
_SESSION_ENDED: Final = EventType.SESSION_ENDED.value


class Mode(Enum):
    SOCKET = auto()
    """One long-lived connection (WebSocket): oversize frames and floods close it."""
    BATCH = auto()
    """One request of commands (long polling): every command gets a frame in its place."""


@dataclass(frozen=True, slots=True)
class Reply:
    """Write `frame` now; `label` is the command type (or `INVALID`) for metrics."""

    frame: Frame
    label: str


@dataclass(frozen=True, slots=True)
class Run:
    """Run `command` for `session_id` (None: unbound) and report with `answered`/`failed`."""

    command: Command
    session_id: str | None


@dataclass(frozen=True, slots=True)
class Close:
    code: CloseCode


Step = Reply | Run | Close


@dataclass(frozen=True, slots=True)
class AfterAnswer:
    """What follows a command's answer: close with `close`, or join `bound`'s session."""

    close: int | None = None
    bound: Bound | None = None


_NOTHING_AFTER: Final = AfterAnswer()


class Delivery(Enum):
    SKIP = auto()
    """Already delivered (seq at or below the cursor)."""
    WRITE = auto()
    LAST = auto()
    """Write it, then end the stream (`session.ended`); `closing` says whether to close now."""


class ClientConnection:
    __slots__ = (
        "_after",
        "address",
        "closing",
        "cursor",
        "limits",
        "logins",
        "mode",
        "pace",
        "running",
        "session_id",
    )

    def __init__(
        self,
        limits: TransportLimits,
        mode: Mode,
        *,
        pace: Pace | None = None,
        session_id: str | None = None,
        cursor: int = 0,
        logins: LoginGate | None = None,
        address: str = "",
    ) -> None:
        self.limits = limits
        self.logins = logins
        """Logins per client address and per instance (None: not limited), shared by every
        connection of the instance."""
        self.address = address
        """The client's address (the right-most hop not a trusted proxy)."""
        self.pace = pace or Pace(limits.commands_per_second, limits.command_burst, now=0.0)
        """Shared by the requests of one client for long polling; a full bucket by default
        (its clock starts at the first command)."""
        self.mode = mode
        self.session_id = session_id
        """The bound session (None until a `login`/`resume` succeeds)."""
        self.cursor = cursor
        """The last durable seq delivered (or asked to start after)."""
        self.running: Command | None = None
        """The command being run or answered."""
        self.closing: CloseCode | None = None
        """The connection must close once the running command is answered."""
        self._after = _NOTHING_AFTER

    # -- frames in ------------------------------------------------------------------------

    def receive_text(self, text: str, now: float) -> Step:
        """One WebSocket text frame."""
        try:
            command = parse_command(text, max_bytes=self.limits.max_frame_bytes)
        except TooLarge as exc:
            if self.mode is Mode.SOCKET:
                return Close(CloseCode.TOO_LARGE)
            return Reply(error(exc), INVALID)
        except InvalidFrame as exc:
            return Reply(error(exc), INVALID)
        return self._admit(command, now)

    def receive_binary(self) -> Step:
        return Reply(error(BadRequest("binary frames are not accepted")), INVALID)

    def receive_item(self, item: object, now: float) -> Step:
        """One command of a long-polling batch (a decoded JSON value)."""
        if not isinstance(item, dict):
            return Reply(error(InvalidFrame("command must be a JSON object")), INVALID)
        step = self.receive_text(encode(item), now)
        if isinstance(step, Reply) and step.frame.get("code") == TooLarge.code:
            re = item.get("id")
            return Reply({**step.frame, "re": re} if isinstance(re, str) else step.frame, INVALID)
        return step

    def lockout(self, now: float) -> RateLimited | None:
        """Refuse a whole request of a client still flooding (long polling); spends nothing."""
        wait = self.pace.lockout(now, self.limits.flood_strikes)
        return RateLimited("too many commands", retry_after=wait) if wait else None

    def _admit(self, command: Command, now: float) -> Step:
        kind = command.type
        wait = self.pace.take(now)
        if wait:
            if self.mode is Mode.SOCKET and self.pace.strikes >= self.limits.flood_strikes:
                return Close(CloseCode.RATE_LIMITED)
            refused = RateLimited("too many commands", retry_after=wait)
            return Reply(error(refused, command.id), kind.value)
        if kind is CommandType.LOGIN and self.logins is not None:
            refused_login = self.logins.take(self.address, now)
            if refused_login is not None:
                return Reply(error(refused_login, command.id), kind.value)
        run_as = self.session_id
        if self.mode is Mode.BATCH and kind in _BINDING:
            run_as = None  # a batch may log in again whatever its bearer says
        try:
            admit(Binding.UNBOUND if run_as is None else Binding.BOUND, kind)
        except ConnectorError as exc:
            return Reply(error(exc, command.id), kind.value)
        self.running = command
        return Run(command, run_as)

    # -- answers out ----------------------------------------------------------------------

    def answered(self, answer: Answer) -> Frame:
        """The frame to write for the running command's answer (empty: write nothing)."""
        self._running()
        self._after = AfterAnswer(answer.close_code, answer.bound)
        if self.mode is Mode.BATCH:
            return answer.frame or ok(None)
        return answer.frame

    def failed(self, exc: ConnectorError) -> Frame:
        """The frame to write when running the command raised `exc`."""
        command = self._running()
        self._after = _NOTHING_AFTER
        return error(exc, command.id)

    def answer_sent(self) -> AfterAnswer:
        """The answer is out: close (the session ended meanwhile, or the answer says so), or
        bind to the session a `login`/`resume` opened (the shell joins its hub), or go on."""
        after, self._after = self._after, _NOTHING_AFTER
        self.running = None
        if self.closing is not None:
            return AfterAnswer(close=self.closing)
        if after.close is not None:
            return AfterAnswer(close=after.close)
        bound = after.bound
        if bound is None or (self.mode is Mode.SOCKET and self.session_id is not None):
            return _NOTHING_AFTER
        self.session_id = bound.session_id
        self.cursor = bound.after
        return AfterAnswer(bound=bound)

    def _running(self) -> Command:
        if self.running is None:
            raise RuntimeError("no command is running")
        return self.running

    # -- events out -----------------------------------------------------------------------

    def accept(self, event: Frame) -> Delivery:
        """A durable event read from the log: skip it or write it (the cursor moves on)."""
        seq = event["seq"]
        if seq <= self.cursor:
            return Delivery.SKIP
        self.cursor = seq
        if event["type"] != _SESSION_ENDED:
            return Delivery.WRITE
        if self.running is not None:
            self.closing = CloseCode.SESSION_ENDED  # after the running command's answer
        return Delivery.LAST

    @property
    def close_now(self) -> bool:
        """After a `LAST` delivery: close at once (no answer is pending)."""
        return self.running is None

    def gap(self, exc: Gap) -> Frame | None:
        """The log no longer holds the events after the cursor: the `gap` frame to send (the
        cursor moves to just before the oldest kept event), or None when nothing is skipped."""
        if exc.oldest_seq - 1 <= self.cursor:
            return None
        self.cursor = exc.oldest_seq - 1
        return error(exc)
