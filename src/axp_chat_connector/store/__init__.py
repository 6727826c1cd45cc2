"""Durable shared state: the `Store` protocol and its backends (SQLite, Redis).

`open_store(url)` picks the backend from the URL:

- `sqlite:///abs/path/connector.db` or `sqlite://relative/path.db` (everything after
  `sqlite://` is the file path), `sqlite://:memory:` for a private in-memory store;
- `redis://[user:password@]host:port/db?prefix=axp:` (also `rediss://`); `prefix` (default
  `axp:`) starts every key, so several deployments can share one Redis;
- `redis+cluster://host:port?prefix=axp:` (also `rediss+cluster://`): a Redis Cluster, reached
  through any one of its nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from axp_chat_connector.store.base import (
    JSON,
    ClaimResult,
    ClaimState,
    Conflict,
    Deadline,
    DeadlineAt,
    OutboxItem,
    Retention,
    RouteKey,
    Store,
)

__all__ = [
    "JSON",
    "ClaimResult",
    "ClaimState",
    "Conflict",
    "Deadline",
    "DeadlineAt",
    "OutboxItem",
    "Retention",
    "RouteKey",
    "Store",
    "open_store",
]


async def open_store(
    url: str,
    *,
    retention: Retention | None = None,
    clock: Callable[[], float] = time.time,
) -> Store:
    """Open (and, for SQLite, create or migrate) the store at `url`.

    `clock` is the SQLite store's time source for TTLs given without `now`; Redis keeps those
    TTLs with its own key expiry. Raises `StoreUnavailable` if the backend cannot be reached,
    `ValueError` for a URL of an unknown kind."""
    if url.startswith("sqlite://"):
        from axp_chat_connector.store.sqlite import SqliteStore

        path = url.removeprefix("sqlite://")
        if not path:
            raise ValueError("sqlite store URL has no path: use sqlite:///path/to/file.db")
        return await SqliteStore.open(path, retention=retention, clock=clock)
    if url.startswith(
        ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
    ):
        from axp_chat_connector.store.redis import RedisStore

        return await RedisStore.open(url, retention=retention)
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unknown store URL scheme {scheme!r}: expected sqlite:// or redis://")
