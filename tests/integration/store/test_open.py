"""Opening stores and buses by URL, and failures surfacing as StoreUnavailable."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from axp_chat_connector.bus import open_bus
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store import open_store

NOW = 1_800_000_000.0


@pytest.mark.parametrize("url", ["postgres://x/y", "memory", "sqlite://"])
async def test_unknown_or_incomplete_store_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="store URL"):
        await open_store(url)


async def test_unknown_bus_url_is_refused() -> None:
    with pytest.raises(ValueError, match="bus URL"):
        await open_bus("kafka://x")


async def test_in_memory_sqlite_store_works() -> None:
    store = await open_store("sqlite://:memory:")
    try:
        assert await store.append_events("s", [{}], now=NOW) == [1]
    finally:
        await store.close()


async def test_sqlite_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        await open_store(f"sqlite://{tmp_path / 'missing' / 'x.db'}")


async def test_a_closed_sqlite_store_is_unavailable(tmp_path: Path) -> None:
    store = await open_store(f"sqlite://{tmp_path / 'x.db'}")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreUnavailable):
        await store.get_session("s")


async def test_unreachable_redis_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        await open_store("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await open_bus("redis://127.0.0.1:1/0")


@pytest.mark.redis
async def test_redis_prefixes_isolate_deployments(redis_url: str) -> None:
    first_prefix, second_prefix = f"test:{uuid.uuid4().hex}:", f"test:{uuid.uuid4().hex}:"
    first = await open_store(f"{redis_url}?prefix={first_prefix}")
    second = await open_store(f"{redis_url}?prefix={second_prefix}")
    try:
        await first.create_session("s1", {"a": 1}, now=NOW)
        await first.append_events("s1", [{}], now=NOW)
        assert await second.get_session("s1") is None
        assert await second.append_events("s1", [{}], now=NOW) == [1]
    finally:
        for store in (first, second):
            await store.delete_session("s1")
            await store.close()
