"""`history` (List Messages, page by page) and `ack` trimming what `resume` can replay."""

from __future__ import annotations

from pathlib import Path

from axp_chat_connector.protocol.frames import HISTORY_LIMIT_MAX
from axp_chat_connector.sessions.messages import HISTORY_PAGE
from tests.integration.sessions.conftest import Frame, Harness, running_harness


async def converse(harness: Harness, session_id: str, engagement_id: str) -> list[str]:
    """Three customer and three agent messages, alternating; their texts in order."""
    texts = []
    for turn in range(3):
        mine, theirs = f"customer {turn}", f"agent {turn}"
        await harness.ok("send", session_id, text=mine)
        await harness.text(session_id, mine)
        await harness.say(engagement_id, theirs)
        await harness.text(session_id, theirs)
        texts += [mine, theirs]
    return texts


async def history(harness: Harness, session_id: str, **fields: int) -> list[Frame]:
    answer = await harness.ok("history", session_id, **fields)
    return list(answer["messages"])


async def test_history_is_oldest_first_with_indexes_and_honours_limit_and_before(
    harness: Harness,
) -> None:
    session_id, engagement_id, _ = await harness.chatting()
    texts = await converse(harness, session_id, engagement_id)

    everything = await history(harness, session_id)

    assert [m["text"] for m in everything] == texts
    indexes = [m["index"] for m in everything]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == len(indexes)
    assert all(m["type"] == "message" and "seq" not in m for m in everything)
    senders = [m["from"]["type"] for m in everything]
    assert senders == ["CUSTOMER", "AGENT"] * 3
    assert all(m.get("clientMessageId") for m in everything if m["from"]["type"] == "CUSTOMER")

    assert [m["text"] for m in await history(harness, session_id, limit=2)] == texts[-2:]
    fourth = indexes[3]
    assert [m["text"] for m in await history(harness, session_id, before=fourth)] == texts[:3]
    before_limited = await history(harness, session_id, before=fourth, limit=2)
    assert [m["text"] for m in before_limited] == texts[1:3]
    assert await history(harness, session_id, before=indexes[0]) == []


async def test_history_still_reads_a_chat_that_has_just_ended(harness: Harness) -> None:
    session_id, engagement_id, _ = await harness.chatting()
    texts = await converse(harness, session_id, engagement_id)
    await harness.ok("end", session_id)

    assert [m["text"] for m in await history(harness, session_id)] == texts


async def test_after_ack_a_resume_before_the_trimmed_events_gets_gap_and_is_bound(
    harness: Harness,
) -> None:
    login = await harness.execute(
        "login", None, customer={"displayName": "Ada", "identifiers": {"phoneNumbers": ["+1"]}}
    )
    session_id, token = login.frame["sessionId"], login.frame["token"]
    engagement_id, _ = await harness.start(session_id)
    await harness.act(engagement_id, "accept")
    await converse(harness, session_id, engagement_id)
    last = (await harness.events(session_id))[-1]["seq"]
    assert last >= 8

    acked = await harness.execute("ack", session_id, seq=5)
    assert acked.frame["type"] == "ok"

    gap = await harness.execute("resume", None, token=token, after=2)
    assert (gap.frame["type"], gap.frame["code"], gap.frame["seq"]) == ("error", "gap", 6)
    assert gap.bound is not None
    assert (gap.bound.session_id, gap.bound.after) == (session_id, 5)
    replay = await harness.service.events_after(session_id, gap.bound.after, 100)
    assert [e["seq"] for e in replay] == list(range(6, last + 1))

    # from what is still kept: a plain resume
    kept = await harness.execute("resume", None, token=token, after=5)
    assert kept.frame["type"] == "ok"
    assert kept.frame["seq"] == last
    assert kept.bound is not None
    assert kept.bound.after == 5


async def test_history_reads_at_most_history_max_pages_of_list_messages(tmp_path: Path) -> None:
    async with running_harness(tmp_path, config={"history_max_pages": 1}) as harness:
        session_id, engagement_id, _ = await harness.chatting()
        texts = [f"agent {n}" for n in range(HISTORY_PAGE + 1)]
        for text in texts:
            await harness.say(engagement_id, text)
        await harness.text(session_id, texts[-1])

        read = await history(harness, session_id, limit=HISTORY_LIMIT_MAX)

    assert [m["text"] for m in read] == texts[:HISTORY_PAGE]  # one page, oldest first
