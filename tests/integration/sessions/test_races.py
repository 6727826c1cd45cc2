"""A send accepted while a webhook of the same chat is being applied."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.store.base import OutboxItem
from tests.integration.sessions.conftest import Harness


async def test_a_send_accepted_while_a_webhook_is_applied_is_still_delivered(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inbound reads the session, maps the agent's PARTICIPANT_ADDED, then writes the new
    participants back; a send accepted in between must stay in the session's outbox (it was
    dropped there: accepted, then neither delivered nor failed). The outbox worker is held
    until the webhook is done, so the order is always that one."""
    session_id = await harness.login()
    engagement_id, _ = await harness.start(session_id)
    await harness.delivered(2)  # ENGAGEMENT_CREATED, PARTICIPANT_ADDED (the customer)
    records, store = harness.records, harness.store
    load, claim = records.load, store.outbox_claim
    armed = [True]
    sent: list[dict[str, Any]] = []
    webhook_done = asyncio.Event()

    async def load_then_send(session: str, *, remember: bool = False) -> tuple[SessionRecord, int]:
        loaded = await load(session, remember=remember)
        if armed:  # the first read after the agent joins: the webhook's
            armed.clear()
            sent.append(await harness.ok("send", session_id, id_="m-between", text="between"))
        return loaded

    async def held_claim(owner: str, *, now: float, lease: float, limit: int) -> list[OutboxItem]:
        await webhook_done.wait()
        return await claim(owner, now=now, lease=lease, limit=limit)

    monkeypatch.setattr(records, "memory", None)  # the webhook reads (a stale memory: see
    # test_session_memory.py)
    monkeypatch.setattr(records, "load", load_then_send)
    monkeypatch.setattr(store, "outbox_claim", held_claim)
    await harness.act(engagement_id, "accept")
    await harness.delivered(3)
    webhook_done.set()
    assert sent

    echo = await harness.event(
        session_id, lambda e: e.get("clientMessageId") == "m-between", "the echo"
    )
    assert echo["type"] == "message"
    texts = [m["body"]["elementText"]["text"] for m in await harness.transcript(engagement_id)]
    assert texts == ["between"]
