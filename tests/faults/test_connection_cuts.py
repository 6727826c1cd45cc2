"""Client connections cut at seeded random points of a chat (real processes).

WebSocket connections are aborted (no close frame: a lost network) and long polls abandoned
mid-request while the customer sends and the agent answers; each new connection resumes after
the last seq it saw. At the end every agent message reached the customer once and in order,
every send was echoed once, and the agent received every customer message once and in order."""

from __future__ import annotations

import asyncio
import contextlib
import random

import httpx
import pytest

from tests.e2e.chat.clients import Frame, PollClient, WsClient, eventually
from tests.faults.chat import (
    agent_texts,
    assert_once_in_order,
    chatting,
    customer_texts,
    session_token,
)
from tests.faults.conftest import FaultAgent, FaultStack

pytestmark = pytest.mark.e2e

SEED = 1515
ROUNDS = 8


def abort(client: WsClient) -> None:
    """Drop the TCP connection without a close frame."""
    assert client._conn is not None
    client._conn.transport.abort()


async def cut_poll(stack: FaultStack, token: str, after: int, rng: random.Random) -> list[Frame]:
    """A long poll abandoned after a random moment (the client gives up mid-request)."""
    poller = PollClient(stack.connector_url)
    poller.token, poller.seq = token, after
    try:
        with contextlib.suppress(TimeoutError, httpx.TransportError):
            await asyncio.wait_for(poller.poll(wait=2), rng.uniform(0.05, 1.0))
    finally:
        await poller.aclose()
    return poller.events


def check_connection(events: list[Frame]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"one connection saw seqs out of order or twice: {seqs}"


async def test_connections_cut_at_random_points_lose_and_repeat_nothing(
    stack: FaultStack, agent: FaultAgent
) -> None:
    rng = random.Random(SEED)
    client, engagement_id, _ = await chatting(stack, agent)
    token = await session_token(client)
    seen: dict[int, Frame] = {e["seq"]: e for e in client.events}
    customer_said, agent_said = [], []
    for round_ in range(ROUNDS):
        text = f"c{round_}"
        await client.ok("send", id_=f"cut-{round_}", text=text)
        customer_said.append(text)
        if rng.random() < 0.7:
            agent_said.append(f"a{round_}")
            await agent.say(engagement_id, agent_said[-1])
        await asyncio.sleep(rng.uniform(0, 0.3))  # the cut point: a seeded moment of the round
        check_connection(client.events)
        seen |= {e["seq"]: e for e in client.events}
        abort(client)
        if rng.random() < 0.3:
            polled = await cut_poll(stack, token, max(seen), rng)
            check_connection(polled)
            seen |= {e["seq"]: e for e in polled}
        client = await WsClient(stack.connector_url).open()
        await client.ok("resume", token=token, after=max(seen))

    async def everything_arrived() -> bool:
        events = [*seen.values(), *client.events]
        echoes = {e.get("clientMessageId") for e in events}
        texts = customer_texts(events, "AGENT")
        got = await agent_texts(agent, engagement_id)
        return (
            all(f"cut-{i}" in echoes for i in range(ROUNDS))
            and all(t in texts for t in agent_said)
            and all(t in got for t in customer_said)
        )

    await eventually(everything_arrived, what="every message on both sides")
    check_connection(client.events)
    seen |= {e["seq"]: e for e in client.events}
    events = [seen[s] for s in sorted(seen)]
    assert sorted(seen) == list(range(min(seen), max(seen) + 1)), "no seq lost"
    assert_once_in_order(customer_texts(events, "AGENT"), agent_said, "agent messages")
    assert_once_in_order(customer_texts(events, "CUSTOMER"), customer_said, "echoes")
    assert_once_in_order(await agent_texts(agent, engagement_id), customer_said, "at the agent")
