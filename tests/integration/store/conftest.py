"""Store contract fixtures: every test runs on each backend (SQLite file, real Redis, and a
private 3-master Redis Cluster started once per test run).

The Redis availability rule lives here once (the bus tests import these fixtures): a test
that needs Redis fails when it is unreachable and `CI=true`, and is skipped otherwise.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis

from axp_chat_connector.store import Retention, Store, open_store
from tests.redis_servers import redis_cluster

_POLL_INTERVAL = 0.01  # a poll interval, not a wait for an outcome

REDIS_URL = os.environ.get("AXP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TIME_SCALE = float(os.environ.get("AXP_TEST_TIME_SCALE", "1"))
_redis_state: dict[str, str | None] = {}


class FakeClock:
    """An injectable clock: time moves only when a test moves it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _redis_error() -> str | None:
    """None if Redis answers PING, else why not (checked once per test run)."""
    if "error" not in _redis_state:
        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
            try:
                client.ping()
            finally:
                client.close()
            _redis_state["error"] = None
        except redis.RedisError as exc:
            _redis_state["error"] = f"Redis at {REDIS_URL} is unreachable ({exc})"
    return _redis_state["error"]


@pytest.fixture
def redis_url() -> str:
    """The test Redis URL; fail (CI=true) or skip when Redis does not answer."""
    error = _redis_error()
    if error is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                f"{error}; CI=true: Redis tests must run (start it with scripts/ensure-redis)"
            )
        pytest.skip(f"{error}; start it with scripts/ensure-redis")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:16]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class StoreBackend:
    """Opens stores on one shared backing (a SQLite file, a Redis prefix), like processes."""

    def __init__(self, name: str, url: str, clock: FakeClock) -> None:
        self.name = name
        self.url = url
        self.clock = clock
        self._opened: list[Store] = []

    async def open(self, retention: Retention | None = None) -> Store:
        store = await open_store(self.url, retention=retention, clock=self.clock)
        self._opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()

    async def after_ttl(self, ttl: float, check: Callable[[], Awaitable[bool]]) -> None:
        """Let `ttl` pass, then assert `check()` becomes true.

        SQLite: the injected clock moves past `ttl`. Redis keeps TTLs itself (tests give it
        sub-second TTLs): poll `check` until true or 5 s (scaled) pass."""
        if self.name == "sqlite":
            self.clock.advance(ttl + 0.001)
            assert await check()
            return
        deadline = time.monotonic() + 5 * TIME_SCALE
        while not await check():
            assert time.monotonic() < deadline, f"not true {ttl} s after the TTL"
            await asyncio.sleep(_POLL_INTERVAL)

    def ttl(self, seconds: float) -> float:
        """A TTL to use in expiry tests: real Redis gets a short one."""
        return seconds if self.name == "sqlite" else 0.05


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`redis+cluster://…` of a private 3-master cluster (fails in CI, skips elsewhere when
    redis-server is missing)."""
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as url:
        yield url


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreBackend]:
    clock = FakeClock()
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'store.db'}"
    elif request.param == "redis-cluster":
        prefix = f"test:{uuid.uuid4().hex[:16]}:"  # a private cluster: nothing to clean up
        url = f"{request.getfixturevalue('redis_cluster_url')}?prefix={prefix}"
    else:
        prefix = request.getfixturevalue("redis_prefix")
        url = f"{request.getfixturevalue('redis_url')}?prefix={prefix}"
    backend = StoreBackend(request.param, url, clock)
    try:
        yield backend
    finally:
        await backend.close_all()


@pytest.fixture
async def store(backend: StoreBackend) -> Store:
    return await backend.open()
