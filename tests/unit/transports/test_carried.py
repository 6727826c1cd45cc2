"""Events carried by bus notices: written without reading the log when they follow the cursor,
and the log read whenever they do not (a hole, more announced, a connection behind)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.transports.connection import ClientConnection, Mode
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.shell import Drained, carry, drain


def event(seq: int) -> dict[str, Any]:
    return {"seq": seq, "type": "message", "text": f"m{seq}"}


class Log:
    """The session's log as `events_after` serves it, counting reads."""

    def __init__(self, last: int) -> None:
        self.events = [event(s) for s in range(1, last + 1)]
        self.reads = 0

    async def events_after(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        self.reads += 1
        return [e for e in self.events if e["seq"] > after][:limit]


def shell(log: Log) -> Any:
    return SimpleNamespace(
        service=log,
        limits=TransportLimits(),
        metrics=SimpleNamespace(delivered=lambda session_id, seq: None),
        hub=SimpleNamespace(encode=lambda session_id, e: encode(e)),
    )


def connection(cursor: int) -> ClientConnection:
    return ClientConnection(TransportLimits(), Mode.SOCKET, session_id="s1", cursor=cursor)


def run(
    log: Log, conn: ClientConnection, carried: list[dict[str, Any]], announced: int
) -> list[int]:
    written: list[int] = []

    async def write(text: str, seq: int | None) -> bool:
        assert seq is not None
        written.append(seq)
        return True

    drained = asyncio.run(drain(shell(log), conn, write, carried, announced))
    assert drained is Drained.CAUGHT_UP
    return written


def test_carried_events_right_after_the_cursor_are_written_without_a_read() -> None:
    log = Log(last=5)
    assert run(log, connection(3), [event(4), event(5)], announced=5) == [4, 5]
    assert log.reads == 0


def test_events_already_written_are_skipped_and_the_rest_written() -> None:
    log = Log(last=5)
    assert run(log, connection(4), [event(4), event(5)], announced=5) == [5]
    assert log.reads == 0


def test_a_connection_behind_the_carried_events_reads_the_log() -> None:
    log = Log(last=5)
    assert run(log, connection(1), [event(4), event(5)], announced=5) == [2, 3, 4, 5]
    assert log.reads == 1


def test_when_more_was_announced_than_carried_the_log_is_read_after_them() -> None:
    log = Log(last=7)
    assert run(log, connection(3), [event(4), event(5)], announced=7) == [4, 5, 6, 7]
    assert log.reads == 1


def test_without_carried_events_the_log_is_read() -> None:
    log = Log(last=2)
    assert run(log, connection(0), [], announced=2) == [1, 2]
    assert log.reads == 1


def test_carry_keeps_events_that_follow_on_and_drops_all_at_a_hole() -> None:
    carried: list[dict[str, Any]] = []
    carry(carried, (event(1), event(2)), limit=10)
    carry(carried, (event(3),), limit=10)
    assert [e["seq"] for e in carried] == [1, 2, 3]
    carry(carried, (event(5),), limit=10)  # 4 went missing: read the log instead
    assert carried == []


def test_carry_drops_all_beyond_its_limit() -> None:
    carried: list[dict[str, Any]] = []
    carry(carried, tuple(event(s) for s in range(1, 4)), limit=3)
    assert len(carried) == 3
    carry(carried, (event(4),), limit=3)
    assert carried == []
