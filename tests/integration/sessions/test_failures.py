"""AXP refusing or failing: a chat that could not be created, sends rejected or undeliverable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.sessions.conftest import Harness, running_harness


async def test_engagement_creation_failed_gives_chat_error_then_chat_ended_by_system(
    harness: Harness,
) -> None:
    session_id = await harness.login()
    await harness.faults(engagementErrors=1)

    failed_engagement, failed_dialog = await harness.start(session_id)

    ended = await harness.event(session_id, lambda e: e["type"] == "chat.ended", "chat.ended")
    assert (ended["by"], ended["reason"]) == ("system", "SYSTEM_CLOSED")
    kinds = [e["type"] for e in await harness.events(session_id)]
    assert kinds.index("chat.error") < kinds.index("chat.ended")
    (error,) = await harness.of_type(session_id, "chat.error")
    assert error["code"] == "ENGAGEMENT_CREATION_FAILED"
    assert kinds.count("chat.ended") == 1

    # a new `start` afterwards opens a new chat that works
    engagement_id, dialog_id = await harness.start(session_id)
    assert dialog_id != failed_dialog
    record, _ = await harness.records.load(session_id)
    assert (record.chat.name, record.dialog_id) == ("OPEN", dialog_id)
    await harness.act(engagement_id, "accept")
    await harness.ok("send", session_id, text="hello again")
    await harness.event(session_id, lambda e: e.get("text") == "hello again", "the echo")
    texts = [m["body"]["elementText"]["text"] for m in await harness.transcript(engagement_id)]
    assert texts == ["hello again"]
    del failed_engagement


async def test_a_send_rejected_with_a_4xx_fails_once_as_upstream_rejected(
    harness: Harness,
) -> None:
    session_id, engagement_id, _ = await harness.chatting()
    await harness.faults(operations=[{"operation": "sendDigitalMessage", "status": 400}])

    await harness.ok("send", session_id, id_="m-refused", text="refused")
    failed = await harness.event(
        session_id, lambda e: e["type"] == "message.failed", "message.failed"
    )
    assert (failed["clientMessageId"], failed["code"]) == ("m-refused", "upstream_rejected")

    await harness.ok("send", session_id, id_="m-next", text="next one")
    echo = await harness.event(
        session_id, lambda e: e.get("clientMessageId") == "m-next", "the next echo"
    )
    assert echo["type"] == "message"
    events = await harness.events(session_id)
    assert [e for e in events if e["type"] == "message.failed"] == [failed]
    assert not [e for e in events if e["type"] == "message" and e.get("text") == "refused"]
    texts = [m["body"]["elementText"]["text"] for m in await harness.transcript(engagement_id)]
    assert texts == ["next one"]


FAST_OUTBOX = {
    "outbox_max_attempts": 3,
    "outbox_backoff_base": 0.01,
    "outbox_backoff_max": 0.05,
    "settle_wait": 0.05,
}


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(429, id="429-not-sent"),
        pytest.param(503, id="503-outcome-unknown"),
    ],
)
async def test_a_send_failing_transiently_beyond_the_attempts_fails_as_upstream_unavailable(
    tmp_path: Path, status: int
) -> None:
    async with running_harness(
        tmp_path, settings={"axp_retry_attempts": 1}, config=FAST_OUTBOX
    ) as harness:
        session_id, engagement_id, _ = await harness.chatting()
        await harness.faults(
            operations=[{"operation": "sendDigitalMessage", "status": status, "count": 10}]
        )

        await harness.ok("send", session_id, id_="m-lost", text="lost")
        failed = await harness.event(
            session_id, lambda e: e["type"] == "message.failed", "message.failed"
        )

        assert (failed["clientMessageId"], failed["code"]) == ("m-lost", "upstream_unavailable")
        faults = (await harness.agent.get("/faults")).json()
        (left,) = faults["operations"]
        assert left["count"] == 10 - 3  # one AXP call per outbox attempt, 3 attempts
        await harness.agent.delete("/faults")
        await harness.ok("send", session_id, id_="m-after", text="after")
        await harness.event(session_id, lambda e: e.get("clientMessageId") == "m-after", "echo")
        texts = [m["body"]["elementText"]["text"] for m in await harness.transcript(engagement_id)]
        assert texts == ["after"]
        assert len(await harness.of_type(session_id, "message.failed")) == 1
