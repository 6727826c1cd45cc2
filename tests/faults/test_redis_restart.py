"""Redis (store and bus) restarted in the middle of a chat (real processes, own redis-server).

While Redis is down: `/readyz` fails, a `send` is refused with a retryable error (or accepted),
AXP's webhooks are answered 503 and redelivered. After it is back: the repeated send is
echoed once and reaches the agent once, the agent's message reaches the customer once."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.chat.clients import Frame, WsClient, eventually, wait_for
from tests.faults.chat import (
    agent_texts,
    assert_once_in_order,
    chatting,
    customer_texts,
    last_seq,
    session_token,
)
from tests.faults.conftest import FaultAgent, FaultStack, fault_stack
from tests.faults.tally import TALLY
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

RETRIES = 10


@contextlib.contextmanager
def redis_server(data: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server on `port` whose data survives a restart (append-only file, fsync always)."""
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ping(port)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def wait_ping(port: int) -> None:
    import redis

    client = redis.Redis(port=port)
    try:
        for _ in range(200):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)  # noqa: sleep-ok (poll interval, bounded by the loop's count)
        raise TimeoutError("redis-server did not start")
    finally:
        client.close()


async def test_a_chat_survives_a_redis_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_data = tmp_path / "redis"
    redis_data.mkdir()
    server = contextlib.ExitStack()
    server.enter_context(redis_server(redis_data, port))
    try:
        with fault_stack(tmp_path, store_url=url, AXP_CHAT_BUS_URL=url) as stack:
            agent = FaultAgent(stack.emulator_url)
            try:
                await chat_across_restart(stack, agent, server, redis_data, port)
            finally:
                await agent.aclose()
    finally:
        server.close()


async def chat_across_restart(
    stack: FaultStack, agent: FaultAgent, server: contextlib.ExitStack, data: Path, port: int
) -> None:
    base_url = stack.connector_url
    client, engagement_id, _ = await chatting(stack, agent)
    token = await session_token(client)
    await client.ok("send", id_="before", text="before the restart")
    await client.event(lambda e: e.get("clientMessageId") == "before", "the first echo")
    server.close()  # Redis stops
    async with httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/readyz")).status_code == 503, "readiness follows the store"
    down = await client.command("send", id_="during", text="while the store is down")
    if down["type"] == "error":
        assert down["retryable"] is True, down
    after = last_seq(client)
    await client.close()  # the customer goes away too, and resumes once Redis is back
    await agent.say(engagement_id, "said while the store is down")
    await eventually(
        lambda: deliveries_refused(agent), what="a webhook answered 503 while Redis is down"
    )
    server.enter_context(redis_server(data, port))
    async with httpx.AsyncClient(base_url=base_url) as http:

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await eventually(ready, timeout=30, what="/readyz after Redis is back")
    again = await WsClient(base_url).open()
    await again.ok("resume", token=token, after=after)
    retried = await retry_while_retryable(again, id_="during", text="while the store is down")
    assert retried["type"] == "ok", retried
    await wait_for(
        lambda: [e for e in again.events if e.get("clientMessageId") == "during"],
        timeout=30,
        what="the repeated send's echo",
    )
    await again.event(lambda e: e.get("text") == "said while the store is down", "agent msg")
    assert_once_in_order(
        customer_texts(again.events, "AGENT"), ["said while the store is down"], "agent"
    )
    assert [e["seq"] for e in again.events] == list(range(after + 1, after + 1 + len(again.events)))
    assert [e.get("clientMessageId") for e in again.events].count("during") == 1
    texts = await agent_texts(agent, engagement_id)
    assert_once_in_order(texts, ["before the restart", "while the store is down"], "at the agent")


async def retry_while_retryable(client: WsClient, **send: Any) -> Frame:
    """Repeat a send (same id) while it is refused with a retryable error, as a client does:
    the first commands after the restart may meet a pooled connection Redis closed."""
    for _ in range(RETRIES):
        answer = await client.command("send", **send)
        if answer["type"] == "ok" or not answer.get("retryable"):
            return answer
        TALLY["redis: retryable refusals after the restart"] += 1
        await asyncio.sleep(0.2)  # noqa: sleep-ok (a client's backoff between two tries)
    return answer


async def deliveries_refused(agent: FaultAgent) -> bool:
    return any(r["status"] == 503 for r in await agent.deliveries())
