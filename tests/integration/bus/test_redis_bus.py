"""Redis bus specifics: several processes' views, channel bookkeeping, reconnection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from axp_chat_connector.bus.base import CARRY_MAX_BYTES, NewEvents
from axp_chat_connector.bus.redis import RedisBus
from tests.integration.store.conftest import TIME_SCALE

from .conftest import BusBackend, Collector

_POLL_INTERVAL = 0.01  # a poll interval, not a wait for an outcome

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_backend(redis_url: str, redis_prefix: str) -> AsyncIterator[BusBackend]:
    backend = BusBackend("redis", f"{redis_url}?prefix={redis_prefix}")
    try:
        yield backend
    finally:
        await backend.close_all()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def _numsub(admin: aioredis.Redis, channel: str) -> int:
    [(_, count)] = await admin.pubsub_numsub(channel)
    return int(count)


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(_POLL_INTERVAL)


async def test_another_instance_receives_the_publish(redis_backend: BusBackend) -> None:
    first, second = await redis_backend.open(), await redis_backend.open()
    on_first, on_second = Collector(), Collector()
    await first.subscribe("s1", on_first)
    await second.subscribe("s1", on_second)
    await first.publish("s1", 5)
    await second.publish_ephemeral("s1", {"type": "typing"})
    for collector in (on_first, on_second):
        await collector.wait_for(2)
        assert collector.seqs == [5]
        assert collector.ephemerals == [{"type": "typing"}]


async def test_one_channel_subscription_per_session_per_process(
    redis_backend: BusBackend, redis_prefix: str, admin: aioredis.Redis
) -> None:
    bus = await redis_backend.open()
    channel = f"{redis_prefix}bus:s1"
    subscriptions = [await bus.subscribe("s1", Collector()) for _ in range(50)]
    assert await _numsub(admin, channel) == 1
    for subscription in subscriptions[:-1]:
        subscription.close()
    assert await _numsub(admin, channel) == 1
    subscriptions[-1].close()

    async def unsubscribed() -> bool:
        return await _numsub(admin, channel) == 0

    await _until(unsubscribed)


async def test_bus_resubscribes_after_its_connection_is_killed(
    redis_backend: BusBackend, redis_prefix: str, admin: aioredis.Redis
) -> None:
    bus = await redis_backend.open()
    assert isinstance(bus, RedisBus)
    listener = Collector()
    await bus.subscribe("s1", listener)
    clients = await admin.client_list()
    [client] = [c for c in clients if c["name"] == bus.connection_name]
    await admin.client_kill_filter(_id=client["id"])

    async def resubscribed() -> bool:
        return await _numsub(admin, f"{redis_prefix}bus:s1") == 1 and any(
            c["name"] == bus.connection_name and c["id"] != client["id"]
            for c in await admin.client_list()
        )

    await _until(resubscribed)
    await bus.publish("s1", 9)
    await listener.wait_for(1)
    assert listener.seqs == [9]


async def test_a_notice_carries_its_events_to_another_instance_unless_too_big(
    redis_backend: BusBackend,
) -> None:
    first, second = await redis_backend.open(), await redis_backend.open()
    heard = Collector()
    await second.subscribe("s1", heard)
    small = ({"seq": 4, "type": "message", "text": "hi"}, {"seq": 5, "type": "typing"})
    await first.publish("s1", 5, small)
    big = ({"seq": 6, "type": "message", "text": "x" * CARRY_MAX_BYTES},)
    await first.publish("s1", 6, big)
    await heard.wait_for(2)
    notices = [m for m in heard.messages if isinstance(m, NewEvents)]
    assert [(n.seq, n.events) for n in notices] == [(5, small), (6, ())]
