"""AXP answering 404 for the customer's AXP session (it expired or was deleted there)."""

from __future__ import annotations

from tests.integration.sessions.conftest import Harness, wait_for


async def dropped_deliveries(harness: Harness, event_type: str) -> int:
    answer = await harness.agent.get("/deliveries")
    assert answer.status_code == 200, answer.text
    return sum(
        1
        for d in answer.json()["deliveries"]
        if d["event_type"] == event_type and d["outcome"] == "dropped"
    )


async def forget_the_axp_session_behind_an_open_chat(harness: Harness, session_id: str) -> None:
    """AXP forgets the session; its reports of the customer leaving never reach the connector,
    so the chat is still open there when the next call meets the 404."""
    axp_session_id = await harness.axp_session_of(session_id)
    await harness.faults(webhooks={"drop": 10, "eventTypes": ["PARTICIPANT_DISCONNECTED"]})
    await harness.third_party.delete_session(axp_session_id, "USER_INACTIVE")

    async def both_dropped() -> bool:
        return await dropped_deliveries(harness, "PARTICIPANT_DISCONNECTED") >= 2

    await wait_for(both_dropped, "the disconnect reports to be dropped")
    record, _ = await harness.records.load(session_id)
    assert record.chat.name == "OPEN"


async def ended_by_axp_forgetting(harness: Harness, session_id: str) -> None:
    ended = await harness.event(session_id, lambda e: e["type"] == "session.ended", "the end")
    tail = [e for e in await harness.events(session_id) if e["type"].endswith(".ended")]
    assert [(e["type"], e.get("by"), e["reason"]) for e in tail] == [
        ("chat.ended", "system", "SYSTEM_CLOSED"),
        ("session.ended", None, "UNKNOWN"),
    ]
    assert tail[0]["seq"] < ended["seq"]
    after = await harness.execute("ping", session_id)
    assert (after.frame["type"], after.frame["code"]) == ("error", "not_found")


async def test_a_404_for_the_axp_session_with_a_chat_open_ends_the_chat_then_the_session(
    harness: Harness,
) -> None:
    session_id, _, _ = await harness.chatting()
    await forget_the_axp_session_behind_an_open_chat(harness, session_id)

    answer = await harness.execute("context", session_id, parameters={"page": "/cart"})

    assert (answer.frame["type"], answer.frame["code"]) == ("error", "not_found")
    await ended_by_axp_forgetting(harness, session_id)


async def test_a_send_meeting_the_404_fails_then_ends_the_chat_and_the_session(
    harness: Harness,
) -> None:
    session_id, _, _ = await harness.chatting()
    await forget_the_axp_session_behind_an_open_chat(harness, session_id)

    await harness.ok("send", session_id, id_="m-void", text="into the void")

    await ended_by_axp_forgetting(harness, session_id)
    (failed,) = await harness.of_type(session_id, "message.failed")
    assert failed["clientMessageId"] == "m-void"
    assert failed["seq"] < (await harness.of_type(session_id, "chat.ended"))[0]["seq"]


async def test_history_meeting_the_404_ends_the_chat_and_the_session(harness: Harness) -> None:
    session_id, _, _ = await harness.chatting()
    await forget_the_axp_session_behind_an_open_chat(harness, session_id)

    answer = await harness.execute("history", session_id)

    assert (answer.frame["type"], answer.frame["code"]) == ("error", "not_found")
    await ended_by_axp_forgetting(harness, session_id)


async def test_a_404_for_the_axp_session_with_no_chat_recreates_it_invisibly(
    harness: Harness,
) -> None:
    session_id = await harness.login()
    forgotten = await harness.axp_session_of(session_id)
    await harness.third_party.delete_session(forgotten, "USER_INACTIVE")

    await harness.ok("context", session_id, parameters={"page": "/cart"})

    recreated = await harness.axp_session_of(session_id)
    assert recreated != forgotten
    at_axp = await harness.third_party.get_session(recreated)
    assert at_axp.sessionParameters is not None
    assert dict(at_axp.sessionParameters)["page"] == "/cart"
    assert await harness.events(session_id) == []  # nothing the client could notice
    # and the session goes on: a chat opens on the new AXP session
    _, dialog_id = await harness.start(session_id)
    dialogs = [d for e in await harness.engagements() for d in e["dialogs"]]
    assert [d["sessionId"] for d in dialogs if d["dialogId"] == dialog_id] == [recreated]
