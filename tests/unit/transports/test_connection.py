"""`ClientConnection` without sockets: every step a frame can take, the binding, the cursor,
pacing and the close rules, in both modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axp_chat_connector.errors import AxpUnavailable, Gap
from axp_chat_connector.protocol.codec import ok
from axp_chat_connector.protocol.codes import CloseCode, CommandType
from axp_chat_connector.sessions.service import Answer, Bound
from axp_chat_connector.transports.admission import LoginGate
from axp_chat_connector.transports.connection import (
    INVALID,
    AfterAnswer,
    ClientConnection,
    Close,
    Delivery,
    Mode,
    Reply,
    Run,
)
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.pacing import Pace

LIMITS = TransportLimits(max_frame_bytes=256, commands_per_second=20, command_burst=40)
LOGIN = {"type": "login", "id": "l", "idToken": "jwt"}
PING = {"type": "ping", "id": "p"}
FIELDS: dict[CommandType, dict[str, Any]] = {
    CommandType.LOGIN: {"idToken": "jwt"},
    CommandType.RESUME: {"token": "t", "after": 0},
    CommandType.CONTEXT: {"parameters": {"page": "/"}},
    CommandType.IDENTIFY: {"identifiers": {"emailAddresses": ["ann@example.com"]}},
    CommandType.SEND: {"text": "hi"},
    CommandType.ACK: {"seq": 0},
}
"""What each command needs besides `type` and `id` to be valid."""


def connection(mode: Mode, limits: TransportLimits = LIMITS, **kwargs: Any) -> ClientConnection:
    return ClientConnection(limits, mode, **kwargs)


def bound(mode: Mode = Mode.SOCKET, cursor: int = 0) -> ClientConnection:
    return connection(mode, session_id="s1", cursor=cursor)


def text(frame: dict[str, Any]) -> str:
    return json.dumps(frame)


def event(seq: int, kind: str = "message") -> dict[str, Any]:
    return {"type": kind, "seq": seq, "at": "2026-01-01T00:00:00.000Z"}


def run(conn: ClientConnection, frame: dict[str, Any], now: float = 0.0) -> Run:
    step = conn.receive_text(text(frame), now)
    assert isinstance(step, Run), step
    return step


# -- frames in -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize(
    ("raw", "re"),
    [("{nope", None), ("[1]", None), (text({"type": "dance", "id": "d"}), "d")],
)
def test_a_frame_that_is_no_command_is_answered_bad_request(
    mode: Mode, raw: str, re: str | None
) -> None:
    conn = bound(mode)
    step = conn.receive_text(raw, 0.0)
    assert isinstance(step, Reply)
    assert (step.frame["code"], step.frame.get("re"), step.label) == ("bad_request", re, INVALID)
    assert conn.pace.strikes == 0
    assert conn.running is None


def test_a_binary_frame_is_a_bad_request() -> None:
    step = bound().receive_binary()
    assert isinstance(step, Reply)
    assert step.frame["code"] == "bad_request"


def test_an_oversize_frame_closes_a_socket_4413() -> None:
    big = text({"type": "send", "id": "b", "text": "x" * 300})
    assert bound(Mode.SOCKET).receive_text(big, 0.0) == Close(CloseCode.TOO_LARGE)


def test_an_oversize_command_of_a_batch_is_answered_too_large_with_its_id() -> None:
    step = bound(Mode.BATCH).receive_item({"type": "send", "id": "b", "text": "x" * 300}, 0.0)
    assert isinstance(step, Reply)
    assert (step.frame["code"], step.frame["re"]) == ("too_large", "b")
    step = bound(Mode.BATCH).receive_item({"type": "send", "id": 7, "text": "x" * 300}, 0.0)
    assert isinstance(step, Reply)
    assert step.frame["code"] == "too_large"
    assert "re" not in step.frame


@pytest.mark.parametrize("item", ["ping", 3, None, [PING]])
def test_a_batch_item_that_is_no_object_is_a_bad_request(item: object) -> None:
    step = bound(Mode.BATCH).receive_item(item, 0.0)
    assert isinstance(step, Reply)
    assert step.frame["code"] == "bad_request"


@pytest.mark.parametrize("mode", list(Mode))
def test_an_unbound_connection_runs_only_login_and_resume(mode: Mode) -> None:
    conn = connection(mode)
    for kind in CommandType:
        frame = {"type": kind.value, "id": "x", **FIELDS.get(kind, {})}
        step = conn.receive_text(text(frame), 0.0)
        if kind in (CommandType.LOGIN, CommandType.RESUME):
            assert isinstance(step, Run), kind
            assert step.session_id is None
            conn.failed(AxpUnavailable())
            conn.answer_sent()
        else:
            assert isinstance(step, Reply), kind
            assert (step.frame["code"], step.frame["re"], step.label) == (
                "unauthorized",
                "x",
                kind.value,
            )


def test_a_bound_socket_refuses_another_login() -> None:
    step = bound(Mode.SOCKET).receive_text(text(LOGIN), 0.0)
    assert isinstance(step, Reply)
    assert step.frame["code"] == "invalid_state"


def test_a_batch_runs_login_unbound_whatever_its_bearer() -> None:
    assert run(bound(Mode.BATCH), LOGIN).session_id is None
    assert run(bound(Mode.BATCH), PING).session_id == "s1"


# -- answers out -----------------------------------------------------------------------------


def test_a_login_binds_after_its_answer_is_sent() -> None:
    conn = connection(Mode.SOCKET)
    run(conn, LOGIN)
    answer = Answer(ok("l", sessionId="s9"), bound=Bound("s9", 4))
    assert conn.answered(answer) == {"type": "ok", "re": "l", "sessionId": "s9"}
    assert (conn.session_id, conn.cursor) == (None, 0)  # not before its answer is out
    assert conn.answer_sent() == AfterAnswer(bound=Bound("s9", 4))
    assert (conn.session_id, conn.cursor, conn.running) == ("s9", 4, None)
    assert isinstance(conn.receive_text(text(PING), 0.0), Run)


def test_a_bound_socket_ignores_another_binding() -> None:
    conn = bound(cursor=2)
    run(conn, PING)
    conn.answered(Answer(ok("p"), bound=Bound("s2", 0)))
    assert conn.answer_sent() == AfterAnswer()
    assert (conn.session_id, conn.cursor) == ("s1", 2)


def test_a_batch_takes_the_session_of_each_binding() -> None:
    conn = bound(Mode.BATCH)
    run(conn, LOGIN)
    conn.answered(Answer(ok("l"), bound=Bound("s2", 0)))
    assert conn.answer_sent() == AfterAnswer(bound=Bound("s2", 0))
    assert run(conn, PING).session_id == "s2"


def test_an_ack_without_id_is_answered_nothing_on_a_socket_and_ok_in_a_batch() -> None:
    ack = {"type": "ack", "seq": 0}
    socket = bound(Mode.SOCKET)
    run(socket, ack)
    assert socket.answered(Answer({})) == {}
    batch = bound(Mode.BATCH)
    run(batch, ack)
    assert batch.answered(Answer({})) == {"type": "ok"}


def test_an_answer_with_a_close_code_closes_after_it_is_sent() -> None:
    conn = bound()
    run(conn, {"type": "logout", "id": "bye"})
    conn.answered(Answer(ok("bye"), close_code=CloseCode.SESSION_ENDED))
    assert conn.answer_sent() == AfterAnswer(close=CloseCode.SESSION_ENDED)


def test_a_failed_command_is_answered_with_its_error_and_its_id() -> None:
    conn = bound()
    run(conn, PING)
    frame = conn.failed(AxpUnavailable())
    assert (frame["code"], frame["re"], frame["retryable"]) == ("upstream_unavailable", "p", True)
    assert conn.answer_sent() == AfterAnswer()


def test_answers_without_a_running_command_are_a_bug() -> None:
    with pytest.raises(RuntimeError):
        bound().answered(Answer(ok("p")))
    with pytest.raises(RuntimeError):
        bound().failed(AxpUnavailable())


# -- pacing ----------------------------------------------------------------------------------


def test_a_socket_flood_gets_rate_limited_frames_then_a_4429_close() -> None:
    limits = TransportLimits(commands_per_second=1, command_burst=2, flood_strikes=3)
    conn = connection(Mode.SOCKET, limits, session_id="s1")
    steps = [conn.receive_text(text(PING), 0.0) for _ in range(5)]
    assert [type(step) for step in steps[:2]] == [Run, Run]
    for step in steps[2:4]:
        assert isinstance(step, Reply)
        assert (step.frame["code"], step.frame["retryAfter"]) == ("rate_limited", 1)
    assert steps[4] == Close(CloseCode.RATE_LIMITED)


def test_a_batch_flood_gets_frames_then_whole_requests_are_refused_until_refilled() -> None:
    limits = TransportLimits(commands_per_second=2, command_burst=2, flood_strikes=3)
    conn = connection(Mode.BATCH, limits, session_id="s1", pace=Pace(2, 2, now=0.0))
    codes = [conn.receive_item(PING, 0.0) for _ in range(6)]
    assert [type(step) for step in codes] == [Run, Run, Reply, Reply, Reply, Reply]
    refused = conn.lockout(0.0)
    assert refused is not None
    assert refused.retry_after == pytest.approx(1.0)
    assert conn.lockout(0.5) is not None
    assert conn.lockout(1.0) is None
    assert isinstance(conn.receive_item(PING, 1.0), Run)
    assert conn.pace.strikes == 0


def test_clients_behind_one_address_recover_from_a_login_burst_at_a_steady_19_per_second() -> None:
    """Issue 15.11: 60 logins at once, then 19 requests/s from one address for 30 s."""
    pace = Pace(LIMITS.commands_per_second, LIMITS.command_burst, now=0.0)
    for _ in range(60):
        connection(Mode.BATCH, pace=pace).receive_item(LOGIN, 0.0)
    admitted = []
    for n in range(19 * 30):
        now = n / 19
        conn = connection(Mode.BATCH, pace=pace)
        if conn.lockout(now) is None and isinstance(conn.receive_item(LOGIN, now), Run):
            admitted.append(now)
    assert admitted[0] <= LIMITS.command_burst / LIMITS.commands_per_second
    assert len(admitted) > 19 * 27  # every request once the bucket has refilled


# -- events out ------------------------------------------------------------------------------


def test_events_at_or_below_the_cursor_are_skipped_and_the_cursor_follows() -> None:
    conn = bound(cursor=2)
    deliveries = [conn.accept(event(seq)) for seq in (1, 2, 3, 3, 5)]
    assert deliveries == [
        Delivery.SKIP,
        Delivery.SKIP,
        Delivery.WRITE,
        Delivery.SKIP,
        Delivery.WRITE,
    ]
    assert conn.cursor == 5


def test_session_ended_is_the_last_event_and_closes_at_once_when_idle() -> None:
    conn = bound()
    assert conn.accept(event(1, "session.ended")) is Delivery.LAST
    assert conn.close_now
    assert conn.closing is None


def test_session_ended_during_a_command_closes_after_its_answer() -> None:
    conn = bound()
    run(conn, {"type": "logout", "id": "bye"})
    assert conn.accept(event(1, "session.ended")) is Delivery.LAST
    assert not conn.close_now
    conn.answered(Answer(ok("bye")))
    assert conn.answer_sent() == AfterAnswer(close=CloseCode.SESSION_ENDED)


def test_a_gap_is_reported_once_and_moves_the_cursor_to_the_oldest_kept() -> None:
    conn = bound(cursor=1)
    frame = conn.gap(Gap(4))
    assert frame is not None
    assert (frame["type"], frame["code"], frame["seq"]) == ("error", "gap", 4)
    assert "re" not in frame
    assert conn.cursor == 3
    assert conn.gap(Gap(4)) is None  # nothing left to skip: the log disagrees
    assert conn.cursor == 3


@given(
    st.integers(min_value=0, max_value=50),
    st.lists(
        st.one_of(
            st.tuples(st.just("event"), st.integers(min_value=1, max_value=60)),
            st.tuples(st.just("gap"), st.integers(min_value=1, max_value=60)),
        ),
        max_size=60,
    ),
)
def test_whatever_the_log_returns_each_seq_is_written_once_in_increasing_order(
    start: int, reads: list[tuple[str, int]]
) -> None:
    conn = bound(cursor=start)
    written: list[int] = []
    for kind, seq in reads:
        before = conn.cursor
        if kind == "gap":
            frame = conn.gap(Gap(seq))
            assert (frame is None) == (seq - 1 <= before)
        elif conn.accept(event(seq)) is not Delivery.SKIP:
            written.append(seq)
        assert conn.cursor >= before
    assert written == sorted(set(written))
    assert all(seq > start for seq in written)


def test_a_login_over_the_gate_is_refused_without_calling_the_service() -> None:
    gate = LoginGate(per_address=1, total=100, now=0.0)
    for mode in (Mode.SOCKET, Mode.BATCH):
        conn = connection(mode, logins=gate, address="198.51.100.1")
        step = conn.receive_text(text(LOGIN), 0.0)
        if mode is Mode.SOCKET:
            assert isinstance(step, Run)
        else:
            assert isinstance(step, Reply)
            assert (step.frame["code"], step.frame["re"]) == ("rate_limited", "l")
            assert step.frame["retryAfter"] == 60
    other = connection(Mode.SOCKET, logins=gate, address="198.51.100.2")
    assert isinstance(other.receive_text(text(LOGIN), 0.0), Run)
    resume = {"type": "resume", "id": "r", **FIELDS[CommandType.RESUME]}
    conn = connection(Mode.SOCKET, logins=gate, address="198.51.100.1")
    assert isinstance(conn.receive_text(text(resume), 0.0), Run)  # resume creates nothing
