"""The sweeper's inactivity timers, with the clock moved forward instead of waited for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from axp_chat_connector.errors import AxpNotFound
from tests.integration.sessions.conftest import Harness, running_harness

CHAT_IDLE = 100.0
WARNING = 10.0
SESSION_IDLE = 1000.0


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[Harness]:
    config = {
        "chat_idle_timeout": CHAT_IDLE,
        "idle_warning": WARNING,
        "session_idle_timeout": SESSION_IDLE,
    }
    async with running_harness(tmp_path, config=config) as harness:
        yield harness


async def test_a_silent_customer_gets_chat_idle_then_the_chat_ends_user_inactive(
    timed: Harness,
) -> None:
    session_id, engagement_id, dialog_id = await timed.chatting()
    await timed.say(engagement_id, "Still there?")
    await timed.event(session_id, lambda e: e.get("text") == "Still there?", "the agent")

    timed.clock.advance(CHAT_IDLE - WARNING - 5)
    await timed.sweeper.sweep_once()
    assert await timed.of_type(session_id, "chat.idle") == []

    timed.clock.advance(6)
    await timed.sweeper.sweep_once()
    (idle,) = await timed.of_type(session_id, "chat.idle")
    assert idle["endsAt"] > idle["at"]
    assert await timed.of_type(session_id, "chat.ended") == []

    timed.clock.advance(WARNING + 1)
    await timed.sweeper.sweep_once()
    (ended,) = await timed.of_type(session_id, "chat.ended")
    assert (ended["by"], ended["reason"], ended["dialogId"]) == (
        "system",
        "USER_INACTIVE",
        dialog_id,
    )
    assert idle["seq"] < ended["seq"]
    (engagement,) = await timed.engagements()
    (dialog,) = engagement["dialogs"]
    assert dialog["dialogStatus"] == "TERMINATED"


async def test_a_customer_send_after_the_warning_keeps_the_chat_open(timed: Harness) -> None:
    session_id, engagement_id, _ = await timed.chatting()
    await timed.say(engagement_id, "Anything else?")
    await timed.event(session_id, lambda e: e.get("text") == "Anything else?", "the agent")
    timed.clock.advance(CHAT_IDLE - WARNING + 1)
    await timed.sweeper.sweep_once()
    assert len(await timed.of_type(session_id, "chat.idle")) == 1

    await timed.ok("send", session_id, id_="m-yes", text="yes")
    await timed.event(session_id, lambda e: e.get("clientMessageId") == "m-yes", "the echo")
    timed.clock.advance(WARNING + 1)
    await timed.sweeper.sweep_once()

    assert await timed.of_type(session_id, "chat.ended") == []
    record, _ = await timed.records.load(session_id)
    assert record.chat.name == "OPEN"


async def test_a_session_left_alone_ends_user_inactive_and_its_axp_session_is_deleted(
    timed: Harness,
) -> None:
    session_id, _, _ = await timed.chatting()
    axp_session_id = await timed.axp_session_of(session_id)
    timed.clock.advance(SESSION_IDLE - 10)
    await timed.sweeper.sweep_once()
    assert await timed.of_type(session_id, "session.ended") == []

    timed.clock.advance(11)
    await timed.sweeper.sweep_once()

    kinds = [(e["type"], e["reason"]) for e in await timed.events(session_id) if "reason" in e]
    assert kinds == [("chat.ended", "USER_INACTIVE"), ("session.ended", "USER_INACTIVE")]
    with pytest.raises(AxpNotFound):
        await timed.third_party.get_session(axp_session_id)
    answer = await timed.execute("ping", session_id)
    assert answer.frame["code"] == "not_found"
