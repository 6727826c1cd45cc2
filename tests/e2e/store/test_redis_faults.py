"""A connector on its own Redis, which the test stops and starts under it: while Redis is down
commands answer `upstream_unavailable` (retryable) and AXP's webhooks 503, nothing is
acknowledged that was not stored, and the same process serves again once Redis is back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.chat.clients import Agent, WsClient, eventually, new_id
from tests.e2e.chat.test_chat import CUSTOMER, session_token
from tests.redis_servers import RedisServer, redis_server
from tests.servers import connector_env, free_port, spawn

pytestmark = [pytest.mark.e2e]

_DURABLE = ("--appendonly", "yes", "--appendfsync", "always")  # data survives a restart


@dataclass
class Stack:
    redis: RedisServer
    emulator_url: str
    connector_url: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    emulator_port, connector_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    connector_url = f"http://127.0.0.1:{connector_port}"
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path / "redis", *_DURABLE))
        url = f"{redis.url}?prefix=faults:"
        stack.enter_context(
            spawn(
                ["emulator", "--port", str(emulator_port)],
                f"{emulator_url}/emulator/v1/health",
                env={
                    "AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true",
                    "AXP_EMULATOR_WEBHOOK_ATTEMPTS": "60",
                    "AXP_EMULATOR_WEBHOOK_BACKOFF_BASE": "0.2",
                    "AXP_EMULATOR_WEBHOOK_BACKOFF_MAX": "0.5",
                },
            )
        )
        stack.enter_context(
            spawn(
                ["serve", "--port", str(connector_port)],
                f"{connector_url}/readyz",
                env=connector_env(emulator_url, connector_url, url, AXP_CHAT_BUS_URL=url),
                timeout=30,
            )
        )
        yield Stack(redis, emulator_url, connector_url)


@pytest.fixture
async def agent(stack: Stack) -> AsyncIterator[Agent]:
    agent = Agent(stack.emulator_url)
    try:
        yield agent
    finally:
        await agent.aclose()


async def _webhook_statuses(agent: Agent, text: str) -> list[int | None]:
    """The connector's answers to each delivery attempt of the agent message `text`."""
    listing = (await agent.http.get("/deliveries")).json()
    records = listing["deliveries"] if isinstance(listing, dict) else listing
    return [r["status"] for r in records if text in str(r.get("body"))]


async def _at_the_agent(agent: Agent, engagement_id: str) -> list[str]:
    """The customer's message texts the agent has received."""
    return [
        str((m["body"].get("elementText") or {}).get("text"))
        for m in await agent.received(engagement_id)
        if m.get("senderParticipantType") == "CUSTOMER"
    ]


async def test_redis_down_then_back_under_a_running_connector(stack: Stack, agent: Agent) -> None:
    client = await WsClient(stack.connector_url).open()
    await client.ok("login", customer=CUSTOMER)
    started = await client.ok("start")
    engagement_id = started["engagementId"]
    await agent.engagement(started["dialogId"])
    await agent.act(engagement_id, "accept", agentName="Grace")
    await client.event(lambda e: e["type"] == "participant.joined", "the agent joining")
    token = await session_token(client)
    last = client.events[-1]["seq"]

    stack.redis.stop()
    command_id = new_id()
    refused = await client.command("send", id_=command_id, text="sent while Redis is down")
    assert refused["type"] == "error", refused
    assert (refused["code"], refused["retryable"]) == ("upstream_unavailable", True)
    await agent.say(engagement_id, "said while Redis is down")

    async def refused_with_503() -> bool:
        return 503 in await _webhook_statuses(agent, "said while Redis is down")

    await eventually(refused_with_503, what="a webhook answered 503")
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{stack.connector_url}/readyz")).status_code == 503
    assert "sent while Redis is down" not in await _at_the_agent(agent, engagement_id)

    stack.redis.start()  # the same data (append-only file), the same connector process

    async def stored() -> bool:
        return 200 in await _webhook_statuses(agent, "said while Redis is down")

    await eventually(stored, what="AXP's redelivery accepted")
    await client.close()  # the connector may have closed it (it could not read events)
    client = await WsClient(stack.connector_url).open()  # as the SDK reconnects
    await client.ok("resume", token=token, after=last)
    await client.event(lambda e: e.get("text") == "said while Redis is down", "the message")
    resent = await client.command("send", id_=command_id, text="sent while Redis is down")
    assert resent["type"] == "ok", resent

    async def at_the_agent() -> list[str]:
        return await _at_the_agent(agent, engagement_id)

    texts = await eventually(at_the_agent, what="the customer's message at the agent")
    assert texts == ["sent while Redis is down"]  # once: the refused try was never sent
    said = [e for e in client.events if e.get("text") == "said while Redis is down"]
    assert len(said) == 1
    assert [e["seq"] for e in client.events] == list(range(last + 1, client.events[-1]["seq"] + 1))
    await client.close()
