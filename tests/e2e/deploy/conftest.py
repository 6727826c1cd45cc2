"""Deployment tests: the commands an operator runs, and several instances on one Redis behind
a real nginx. Redis is needed (`scripts/ensure-redis`): missing, the tests fail under CI=true
and are skipped elsewhere."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from tests.e2e.chat.clients import WsClient

REDIS = "redis://127.0.0.1:6379/0"


def unavailable(reason: str) -> None:
    """Fail under CI (`CI=true`), where everything the tests need is installed; skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis URL with a key prefix of this module's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"no Redis at {REDIS} ({exc}); start it with scripts/ensure-redis")
    prefix = f"deploy-{uuid.uuid4().hex[:12]}:"
    try:
        yield f"{REDIS}?prefix={prefix}"
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    """Close the WebSocket clients a test opened, passed or failed."""
    yield
    while WsClient.live:
        await WsClient.live.pop().close()
