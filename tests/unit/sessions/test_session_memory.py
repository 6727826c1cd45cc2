"""`SessionMemory`: bounded, newest kept, and it follows only the sessions it was given."""

from __future__ import annotations

import pytest

from axp_chat_connector.protocol.ids import SessionId
from axp_chat_connector.sessions.lifecycle import SessionState
from axp_chat_connector.sessions.memory import SessionMemory
from axp_chat_connector.sessions.record import SessionRecord


def _record(session_id: str) -> SessionRecord:
    return SessionRecord(
        session_id=SessionId(session_id),
        state=SessionState.ACTIVE,
        display_name="Ada",
        identifiers={},
        parameters={},
        axp_session_id=None,
    )


def test_it_keeps_the_most_recently_used_up_to_its_limit() -> None:
    memory = SessionMemory(limit=2)
    memory.remember("a", (_record("a"), 1))
    memory.remember("b", (_record("b"), 1))
    memory.remember("a", (_record("a"), 2))  # a is the newest now
    memory.remember("c", (_record("c"), 1))  # b, the oldest, goes
    assert memory.recall("b") is None
    assert [memory.recall(s) is not None for s in "ac"] == [True, True]
    assert memory.recall("a") == (_record("a"), 2)
    assert len(memory) == 2


def test_refresh_updates_only_what_it_holds_and_forget_drops() -> None:
    memory = SessionMemory()
    memory.refresh("a", (_record("a"), 3))
    assert memory.recall("a") is None  # not asked to remember it
    memory.remember("a", (_record("a"), 3))
    memory.refresh("a", (_record("a"), 4))
    assert memory.recall("a") == (_record("a"), 4)
    memory.forget("a")
    memory.forget("never there")
    assert memory.recall("a") is None
    assert len(memory) == 0


def test_it_holds_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SessionMemory(limit=0)
