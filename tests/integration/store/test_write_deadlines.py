"""`update_session_and_append(deadlines=…)`: the timers a write arms are set with the write,
and only when it happens (on every backend, as `set_deadline` would set them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio

from axp_chat_connector.store import Conflict, Deadline, Store, open_store
from tests.redis_servers import redis_server

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_the_deadlines_are_set_with_the_write(store: Store) -> None:
    await store.create_session("s1", {"v": 1}, now=NOW)
    await store.set_deadline("s1", "chat_idle_warning", NOW + 5)  # moved by the write
    await store.set_deadline("s1", "token_renew", NOW + 50)  # left alone

    result = await store.update_session_and_append(
        "s1",
        {"v": 2},
        expected_version=1,
        events=[{"type": "m"}],
        now=NOW,
        dedupe_key="k1",
        deadlines=[("chat_idle_warning", NOW + 30), ("message_hold", NOW + 2)],
    )

    assert result == (2, [1])
    assert await store.due_deadlines(NOW + 100, 10) == [
        Deadline("s1", "message_hold", NOW + 2),
        Deadline("s1", "chat_idle_warning", NOW + 30),
        Deadline("s1", "token_renew", NOW + 50),
    ]


async def test_deadlines_without_events_or_dedupe_key(store: Store) -> None:
    await store.create_session("s1", {"v": 1}, now=NOW)
    assert await store.update_session_and_append(
        "s1", {"v": 2}, expected_version=1, events=[], now=NOW, deadlines=[("purge", NOW + 9)]
    ) == (2, [])
    assert await store.due_deadlines(NOW + 9, 10) == [Deadline("s1", "purge", NOW + 9)]
    assert await store.read_events("s1", 0, 10) == []


async def test_a_write_that_does_not_happen_sets_no_deadline(store: Store) -> None:
    await store.create_session("s1", {"v": 1}, now=NOW)
    assert await store.update_session_and_append(
        "s1", {"v": 2}, expected_version=1, events=[{}], now=NOW, dedupe_key="k1"
    ) == (2, [1])

    duplicate = await store.update_session_and_append(
        "s1",
        {"v": 3},
        expected_version=2,
        events=[{}],
        now=NOW,
        dedupe_key="k1",
        deadlines=[("chat_idle_warning", NOW + 1)],
    )
    with pytest.raises(Conflict):
        await store.update_session_and_append(
            "s1", {"v": 3}, expected_version=1, events=[{}], now=NOW, deadlines=[("a", NOW)]
        )
    with pytest.raises(Conflict):  # no such session
        await store.update_session_and_append(
            "s2", {}, expected_version=1, events=[], now=NOW, deadlines=[("a", NOW)]
        )

    assert duplicate is None
    assert await store.due_deadlines(NOW + 100, 10) == []
    # the dedupe key of a write with deadlines is marked for every later write too
    await store.update_session_and_append(
        "s1",
        {"v": 3},
        expected_version=2,
        events=[],
        now=NOW,
        dedupe_key="k2",
        deadlines=[("a", NOW)],
    )
    assert await store.append_events("s1", [{}], now=NOW, dedupe_key="k2") == []


async def test_delete_session_clears_the_deadlines_a_write_set(backend: StoreBackend) -> None:
    store, other = await backend.open(), await backend.open()  # another process deletes
    await store.create_session("s1", {}, now=NOW)
    await store.update_session_and_append(
        "s1", {}, expected_version=1, events=[], now=NOW, deadlines=[("chat_idle", NOW)]
    )
    await other.delete_session("s1")
    assert await store.due_deadlines(NOW + 100, 10) == []


async def test_the_same_kind_twice_keeps_the_last(store: Store) -> None:
    await store.create_session("s1", {}, now=NOW)
    deadlines = [("chat_idle", NOW + 1), ("chat_idle", NOW + 7)]
    await store.update_session_and_append(
        "s1", {}, expected_version=1, events=[], now=NOW, deadlines=deadlines
    )
    assert await store.due_deadlines(NOW + 100, 10) == [Deadline("s1", "chat_idle", NOW + 7)]


@pytest.mark.redis
async def test_set_deadline_after_redis_forgot_its_scripts(tmp_path: Path) -> None:
    """On one server `set_deadline` is one pipeline (the kind remembered, then the script by
    its SHA): a server that lost its scripts (restarted, `SCRIPT FLUSH`) gets it loaded."""
    with redis_server(tmp_path) as server:  # private: flushing scripts disturbs nobody
        store = await open_store(server.url)
        admin = redis.asyncio.Redis.from_url(server.url)
        try:
            await store.set_deadline("s1", "chat_idle", NOW)
            await admin.script_flush()
            await store.set_deadline("s1", "purge", NOW + 1)
            assert await store.due_deadlines(NOW + 1, 10) == [
                Deadline("s1", "chat_idle", NOW),
                Deadline("s1", "purge", NOW + 1),
            ]
            await store.delete_session("s1")  # the kinds were remembered
            assert await store.due_deadlines(NOW + 100, 10) == []
        finally:
            await admin.aclose()
            await store.close()
