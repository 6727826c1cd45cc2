"""The events that timers make (`chat.idle`, inactivity's `chat.ended`, `session.token`) match
the published client protocol, with short timers (real processes)."""

from __future__ import annotations

import pytest

from tests.e2e.chat.clients import WAIT, Agent, WsClient, wait_for
from tests.e2e.chat.conftest import Stack
from tests.e2e.chat.test_published_protocol import CUSTOMER
from tests.published_protocol import ProtocolChecker

pytestmark = pytest.mark.e2e

STACK_ENV = {
    "AXP_CHAT_CHAT_IDLE_TIMEOUT": "3",
    "AXP_CHAT_IDLE_WARNING": "1.5",
    "AXP_CHAT_SESSION_TOKEN_TTL": "10",
}


async def test_timer_events_match_the_schemas(stack: Stack, agent: Agent) -> None:
    client = await WsClient(stack.connector_url).open()
    await client.ok("login", customer=CUSTOMER)
    started = await client.ok("start")
    await agent.engagement(started["dialogId"])
    await agent.act(started["engagementId"], "accept", agentName="Grace")
    await agent.say(started["engagementId"], "Still there?")
    await client.event(lambda e: e["type"] == "chat.idle", "the idle warning")
    ended = await client.event(lambda e: e["type"] == "chat.ended", "the chat ending")
    assert ended["reason"] == "USER_INACTIVE"
    # the token lives 10 s and is renewed a fifth of that before it expires
    await wait_for(
        lambda: any(e["type"] == "session.token" for e in client.events),
        timeout=WAIT + 10,
        what="session.token",
    )
    checker = ProtocolChecker()
    for event in client.events:
        checker.server_frame(event)
    await client.close()
