"""Webhook dedupe through the store's atomic writes: a copy of an event is shown once, whether
it comes after the first was stored, while the first is being handled, or after a failed first
attempt (a 503 that AXP answers by delivering again)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from axp_chat_connector.errors import StoreUnavailable
from tests.integration.sessions.conftest import Harness
from tests.unit.sessions import axp_bodies


async def agent_message(harness: Harness, text: str) -> tuple[str, dict[str, Any]]:
    """A chatting session, and an agent message for its dialog as AXP would post it."""
    session_id, engagement_id, dialog_id = await harness.chatting()
    body = axp_bodies.message(
        text=text,
        index=None,
        message_id=f"msg-{text}",
        dialogId=dialog_id,
        engagementId=engagement_id,
    )
    return session_id, body


async def shown(harness: Harness, session_id: str, text: str) -> int:
    return sum(1 for e in await harness.events(session_id) if e.get("text") == text)


async def test_a_copy_after_the_first_was_stored_is_a_duplicate(harness: Harness) -> None:
    session_id, body = await agent_message(harness, "once")

    assert await harness.intake.take(body) == "appended"
    assert await harness.intake.take(dict(body)) == "duplicate"

    assert await shown(harness, session_id, "once") == 1


async def test_two_copies_at_once_are_shown_once(harness: Harness) -> None:
    session_id, body = await agent_message(harness, "twins")

    outcomes = await asyncio.gather(harness.intake.take(body), harness.intake.take(dict(body)))

    assert sorted(outcomes) == ["appended", "duplicate"]
    assert await shown(harness, session_id, "twins") == 1


async def test_a_redelivery_after_a_failed_write_is_not_a_duplicate(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, body = await agent_message(harness, "again")
    store = harness.store
    write = store.update_session_and_append

    async def failing(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(store, "update_session_and_append", write)  # once
        raise StoreUnavailable("the store is away")

    monkeypatch.setattr(store, "update_session_and_append", failing)
    with pytest.raises(StoreUnavailable):
        await harness.intake.take(body)  # the receiver answers 503
    assert await shown(harness, session_id, "again") == 0

    assert await harness.intake.take(dict(body)) == "appended"  # AXP's redelivery
    assert await shown(harness, session_id, "again") == 1
