"""The webhook intake's route cache never answers otherwise than the store would: a cached
route whose session was deleted is forgotten and looked up in the store again."""

from __future__ import annotations

import pytest

from axp_chat_connector.sessions.memory import SessionMemory
from tests.integration.sessions.conftest import Harness, wait_for


async def test_the_cache_spares_the_route_lookup(harness: Harness) -> None:
    session_id, engagement_id, dialog_id = await harness.chatting()
    assert harness.intake.routes.get(("dialog", dialog_id)) == session_id  # the join filled it
    harness.webhook_store_calls.clear()

    await harness.say(engagement_id, "hello")
    await harness.text(session_id, "hello")

    calls = next(calls for kind, calls in harness.webhook_store_calls if kind == "MESSAGES")
    assert "get_route" not in calls


@pytest.mark.parametrize("remembered", [False, True])
async def test_a_cached_route_of_a_deleted_session_is_looked_up_again(
    harness: Harness, remembered: bool
) -> None:
    session_id, engagement_id, dialog_id = await harness.chatting()
    assert harness.intake.routes.get(("dialog", dialog_id)) == session_id
    harness.intake.records.memory = SessionMemory()
    if remembered:  # the intake wrote the session last: the memory holds it
        await harness.say(engagement_id, "hello")
        await harness.text(session_id, "hello")
        assert harness.intake.records.recall(session_id) is not None
    counters = harness.intake.counters
    parked = counters.get("parked", 0)
    await harness.store.delete_session(session_id)  # its routes go with it (the purge)
    harness.webhook_store_calls.clear()

    await harness.say(engagement_id, "anyone there?")

    async def handled() -> bool:
        return counters.get("parked", 0) > parked

    # Without the cache: no route, so the event waits for a chat that never comes (parked).
    await wait_for(handled, "the message parked")
    calls = next(calls for kind, calls in harness.webhook_store_calls if kind == "MESSAGES")
    # the cached id (its remembered state fails to write), then the store
    tried = ["update_session_and_append"] if remembered else []
    assert calls[: len(tried) + 2] == [*tried, "get_session", "get_route"]
    assert harness.intake.records.recall(session_id) is None
    assert "park_event" in calls
    assert harness.intake.routes.get(("dialog", dialog_id)) is None
