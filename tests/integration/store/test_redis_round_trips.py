"""A webhook's write on a single Redis server is one round trip: the script spans the session's
keys and the index keys (on a cluster the index slot is another node's: up to three steps,
tested with the other backends). Counted at the client, whatever the command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from axp_chat_connector.store import Deadline, Store, open_store
from axp_chat_connector.store.redis import RedisStore

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0


class Counted:
    """Counts the commands `store`'s client sends (each its own round trip)."""

    def __init__(self, store: RedisStore) -> None:
        self.sent: list[str] = []
        client = store._r  # the test counts what goes over the wire
        send = client.execute_command

        async def counted(*args: Any, **options: Any) -> Any:
            self.sent.append(str(args[0]))
            return await send(*args, **options)

        client.execute_command = counted  # type: ignore[method-assign]


@pytest.fixture
async def redis_store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisStore]:
    store = await open_store(f"{redis_url}?prefix={redis_prefix}")
    assert isinstance(store, RedisStore)
    try:
        yield store
    finally:
        await store.close()


async def _write(
    store: Store, version: int, key: str, session_id: str = "s1"
) -> tuple[int, list[int]] | None:
    return await store.update_session_and_append(
        session_id,
        {"v": version + 1},
        expected_version=version,
        events=[{"type": "m"}],
        now=NOW,
        dedupe_key=key,
        deadlines=[("chat_idle_warning", NOW + 30)],
    )


async def test_a_write_with_its_marks_and_timer_is_one_round_trip(redis_store: RedisStore) -> None:
    await redis_store.create_session("s0", {"v": 1}, now=NOW)
    await _write(redis_store, 1, "k0", "s0")  # the scripts are loaded
    await redis_store.create_session("s1", {"v": 1}, now=NOW)
    counted = Counted(redis_store)

    assert await _write(redis_store, 1, "k1") == (2, [1])
    assert counted.sent == ["EVALSHA"]
    counted.sent.clear()
    assert await _write(redis_store, 2, "k1") is None  # the same key again: a duplicate
    assert counted.sent == ["EVALSHA"]

    # what the one step did is what the three steps do
    assert await redis_store.due_deadlines(NOW + 100, 10) == [
        Deadline("s0", "chat_idle_warning", NOW + 30),
        Deadline("s1", "chat_idle_warning", NOW + 30),
    ]
    parked = await redis_store.park_event(
        [("dialog", "d1")], {"e": 1}, ttl=60, now=NOW, dedupe_key="k1"
    )
    assert parked is False  # the index slot's mark was set with the write
