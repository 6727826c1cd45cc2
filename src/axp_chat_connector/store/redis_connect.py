"""Connecting to Redis: one standalone server (`redis://`, `rediss://`, `unix://`) or a Redis
Cluster (`redis+cluster://host:port`, `rediss+cluster://`; any one node will do, the client
discovers the others). Shared by the store and the bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, RedisError

from axp_chat_connector.errors import StoreUnavailable

DEFAULT_PREFIX = "axp:"
POOL_SIZE = 64
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

Client = aioredis.Redis | RedisCluster
"""What the store talks to: both take the same commands and scripts."""

_SOCKET_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "health_check_interval": 30,
}


def split_url(url: str) -> tuple[str, str]:
    """(the URL without `prefix=`, the key prefix). The prefix may not hold `{` or `}`: keys
    carry their own Redis Cluster hash tags (docs/storage.md)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if "{" in prefix or "}" in prefix:
        raise ValueError("the Redis key prefix cannot contain { or }")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def is_cluster(url: str) -> bool:
    return url.partition("://")[0] in CLUSTER_SCHEMES


def make_pool(url: str) -> aioredis.BlockingConnectionPool:
    """A pool of at most POOL_SIZE connections; callers wait up to 5 s for a free one."""
    pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=5, **_SOCKET_OPTIONS
    )
    return pool


def make_client(url: str) -> Client:
    """A client for `url` (without `prefix=`): a pooled `Redis`, or a `RedisCluster` (one
    pool per node) for a `+cluster` scheme."""
    scheme, _, rest = url.partition("://")
    if scheme in CLUSTER_SCHEMES:
        cluster: RedisCluster = RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme]}://{rest}", max_connections=POOL_SIZE, **_SOCKET_OPTIONS
        )
        return cluster
    return aioredis.Redis(connection_pool=make_pool(url))


async def close_client(client: Client) -> None:
    await client.aclose()
    if isinstance(client, aioredis.Redis):
        await client.connection_pool.aclose()


@contextlib.asynccontextmanager
async def boundary(what: str, client: Client) -> AsyncIterator[None]:
    """Redis errors leave as `StoreUnavailable` (retryable for callers).

    A lost connection also drops the pool's idle connections: after Redis restarts they are
    all dead, and each would fail one more command. Commands are never resent by the client
    (a script that ran before its answer was lost would run twice)."""
    try:
        yield
    except RedisError as exc:
        if isinstance(exc, ConnectionError) and isinstance(client, aioredis.Redis):
            with contextlib.suppress(RedisError, OSError):
                await client.connection_pool.disconnect(inuse_connections=False)
        raise StoreUnavailable(f"{what}: {exc}") from exc
