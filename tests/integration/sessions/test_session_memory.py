"""The intake's memory of the sessions it wrote (`SessionMemory`, on SQLite) spares a read per
webhook and never changes an outcome: a remembered state that another writer moved costs a
failed write and a read, and the event is still appended once."""

from __future__ import annotations

from axp_chat_connector.sessions.record import to_doc
from tests.integration.sessions.conftest import Harness


async def test_a_stale_memory_costs_a_failed_write_and_a_read(harness: Harness) -> None:
    session_id, engagement_id, _ = await harness.chatting()
    await harness.say(engagement_id, "first")
    await harness.text(session_id, "first")
    remembered = harness.intake.records.recall(session_id)
    assert remembered is not None
    record, version = remembered
    # another writer (another code path, another process) moves the session
    moved = await harness.store.update_session(session_id, to_doc(record), expected_version=version)
    assert moved == version + 1
    harness.webhook_store_calls.clear()

    await harness.say(engagement_id, "second")
    await harness.text(session_id, "second")

    calls = next(calls for kind, calls in harness.webhook_store_calls if kind == "MESSAGES")
    assert calls == ["update_session_and_append", "get_session", "update_session_and_append"]
    texts = [e.get("text") for e in await harness.events(session_id)]
    assert texts.count("second") == 1
    recalled = harness.intake.records.recall(session_id)
    assert recalled is not None
    assert recalled[1] == moved + 1  # the memory follows the write that won
