"""Bus contract fixtures: every test runs on the local bus, on real Redis pub/sub, and on a
private Redis Cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from axp_chat_connector.bus import Bus, BusMessage, Ephemeral, NewEvents, open_bus
from tests.integration.store.conftest import (
    TIME_SCALE,
    redis_cluster_url,
    redis_prefix,
    redis_url,
)

__all__ = ["Collector", "redis_cluster_url", "redis_prefix", "redis_url"]


class Collector:
    """A listener that records what it gets and lets a test wait for it."""

    def __init__(self) -> None:
        self.messages: list[BusMessage] = []
        self._changed = asyncio.Event()

    def __call__(self, message: BusMessage) -> None:
        self.messages.append(message)
        self._changed.set()

    @property
    def seqs(self) -> list[int]:
        return [m.seq for m in self.messages if isinstance(m, NewEvents)]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return [m.event for m in self.messages if isinstance(m, Ephemeral)]

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Wait until at least `count` messages arrived."""

        async def enough() -> None:
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), timeout * TIME_SCALE)


class BusBackend:
    """Opens buses on one backing; for Redis each is a separate 'process' view."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._opened: list[Bus] = []

    async def open(self) -> Bus:
        bus = await open_bus(self.url)
        self._opened.append(bus)
        return bus

    async def close_all(self) -> None:
        for bus in self._opened:
            await bus.close()


@pytest.fixture(
    params=[
        "local",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def bus_backend(request: pytest.FixtureRequest) -> AsyncIterator[BusBackend]:
    if request.param == "local":
        url = "local://"
    elif request.param == "redis-cluster":
        prefix = f"test:{uuid.uuid4().hex[:16]}:"  # a private cluster: nothing to clean up
        url = f"{request.getfixturevalue('redis_cluster_url')}?prefix={prefix}"
    else:
        prefix = request.getfixturevalue("redis_prefix")
        url = f"{request.getfixturevalue('redis_url')}?prefix={prefix}"
    backend = BusBackend(request.param, url)
    try:
        yield backend
    finally:
        await backend.close_all()


@pytest.fixture
async def bus(bus_backend: BusBackend) -> Bus:
    return await bus_backend.open()
