"""Two connector instances on one Redis (store and bus), as behind a load balancer without
sticky sessions: a customer on one instance, AXP's callbacks to the other. Every test runs on
the shared standalone Redis and on a private 3-master Redis Cluster."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import redis

from tests.e2e.chat.clients import Agent, PollClient, WsClient
from tests.e2e.chat.test_chat import CUSTOMER, session_token, texts
from tests.redis_servers import redis_cluster
from tests.servers import connector_env, free_port, spawn

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@dataclass
class Pair:
    emulator_url: str
    first: str  # the instance AXP's callbacks go to (its public URL was provisioned)
    second: str


def _redis_or_skip() -> None:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis on 127.0.0.1:6379 is needed in CI: {exc}")
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc})")


@pytest.fixture(scope="module", params=["redis", "redis-cluster"])
def redis_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store (and bus) URL with a fresh prefix: on the shared Redis (its keys deleted after
    the module), or on a private cluster."""
    prefix = f"e2e-{uuid.uuid4().hex[:8]}:"
    if request.param == "redis-cluster":
        with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
            yield f"{url}?prefix={prefix}"
        return
    _redis_or_skip()
    yield f"redis://127.0.0.1:6379/0?prefix={prefix}"
    client = redis.Redis(host="127.0.0.1", port=6379)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="module")
def pair(redis_store_url: str) -> Iterator[Pair]:
    url = redis_store_url
    emulator_port, first_port, second_port = free_port(), free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    # one public URL (the load balancer's): here, the first instance
    shared = connector_env(
        emulator_url, f"http://127.0.0.1:{first_port}", url, AXP_CHAT_BUS_URL=url
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            spawn(
                ["emulator", "--port", str(emulator_port)],
                f"{emulator_url}/emulator/v1/health",
                env={"AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true"},
            )
        )
        for port in (first_port, second_port):
            stack.enter_context(
                spawn(
                    ["serve", "--port", str(port)],
                    f"http://127.0.0.1:{port}/readyz",
                    env=shared,
                    timeout=30,
                )
            )
        yield Pair(
            emulator_url, f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
        )


@pytest.fixture
async def agent(pair: Pair) -> AsyncIterator[Agent]:
    agent = Agent(pair.emulator_url)
    try:
        yield agent
    finally:
        await agent.aclose()


async def test_a_chat_on_one_instance_gets_the_callbacks_taken_by_the_other(
    pair: Pair, agent: Agent
) -> None:
    client = await WsClient(pair.second).open()
    await client.ok("login", customer=CUSTOMER)
    started = await client.ok("start")
    await client.event(lambda e: e["type"] == "chat.started", "chat.started")
    engagement_id = started["engagementId"]
    await agent.engagement(started["dialogId"])
    await agent.act(engagement_id, "accept", agentName="Grace")
    await client.event(lambda e: e["type"] == "participant.joined", "the agent joining")
    await client.ok("send", id_="x-1", text="hello from instance two")
    await client.event(lambda e: e.get("clientMessageId") == "x-1", "the echo")
    for text in ("one", "two", "three"):
        await agent.say(engagement_id, text)
    await client.event(lambda e: e.get("text") == "three", "the agent's messages")
    assert texts(client.events, "AGENT") == ["one", "two", "three"]


async def test_a_session_moves_between_instances_without_losing_anything(
    pair: Pair, agent: Agent
) -> None:
    client = await WsClient(pair.first).open()
    await client.ok("login", customer=CUSTOMER)
    started = await client.ok("start")
    await agent.engagement(started["dialogId"])
    await agent.act(started["engagementId"], "accept")
    await client.event(lambda e: e["type"] == "participant.joined", "the agent joining")
    token = await session_token(client)
    last = client.events[-1]["seq"]
    await client.close()
    await agent.say(started["engagementId"], "while you moved")

    moved = await WsClient(pair.second).open()
    await moved.ok("resume", token=token, after=last)
    await moved.event(lambda e: e.get("text") == "while you moved", "the missed message")
    assert moved.events[0]["seq"] == last + 1
    # the same command id on the other instance is still the same command
    first = await moved.command("send", id_="m-1", text="once")
    poller = PollClient(pair.first)
    poller.token = token
    (again,) = await poller.commands({"type": "send", "id": "m-1", "text": "once"})
    assert again == first
    await moved.event(lambda e: e.get("clientMessageId") == "m-1", "the echo")
    await poller.until(lambda e: e.get("clientMessageId") == "m-1", "the echo on the poller")
    await poller.aclose()
    assert len([e for e in moved.events if e.get("clientMessageId") == "m-1"]) == 1
