"""The same command id run twice at once: one AXP call, one answer."""

from __future__ import annotations

import asyncio

from tests.integration.sessions.conftest import Harness


async def test_the_same_send_run_twice_concurrently_reaches_axp_once(harness: Harness) -> None:
    session_id, engagement_id, _ = await harness.chatting()

    first, second = await asyncio.gather(
        harness.execute("send", session_id, id_="m-twice", text="only once"),
        harness.execute("send", session_id, id_="m-twice", text="only once"),
    )

    assert first.frame == second.frame
    assert first.frame["type"] == "ok"
    assert first.frame["status"] == "accepted"
    await harness.event(session_id, lambda e: e.get("clientMessageId") == "m-twice", "the echo")
    await harness.ok("send", session_id, id_="m-then", text="then this")
    await harness.event(session_id, lambda e: e.get("clientMessageId") == "m-then", "the echo")
    texts = [m["body"]["elementText"]["text"] for m in await harness.transcript(engagement_id)]
    assert texts == ["only once", "then this"]
    echoes = [e for e in await harness.events(session_id) if e.get("text") == "only once"]
    assert len(echoes) == 1


async def test_the_same_start_run_twice_concurrently_opens_one_chat(harness: Harness) -> None:
    session_id = await harness.login()

    first, second = await asyncio.gather(
        harness.execute("start", session_id, id_="s-twice"),
        harness.execute("start", session_id, id_="s-twice"),
    )

    assert first.frame == second.frame
    assert first.frame["type"] == "ok"
    (engagement,) = await harness.engagements()
    assert [d["dialogId"] for d in engagement["dialogs"]] == [first.frame["dialogId"]]
    assert len(await harness.of_type(session_id, "chat.started")) == 1
    # and a repeat later is answered from the store, with no AXP call either
    again = await harness.execute("start", session_id, id_="s-twice")
    assert again.frame == first.frame
    assert len((await harness.engagements())[0]["dialogs"]) == 1
