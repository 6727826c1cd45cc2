"""Activity and deadlines for the inactivity sweeper."""

from __future__ import annotations

import asyncio

from axp_chat_connector.store import Deadline, Store

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_idle_sessions_are_listed_least_recent_first(store: Store) -> None:
    await store.create_session("s1", {}, now=NOW)
    await store.touch_session("s2", now=NOW - 10)
    await store.touch_session("s3", now=NOW + 10)
    assert await store.idle_sessions(NOW + 1, 10) == ["s2", "s1"]
    assert await store.idle_sessions(NOW + 1, 1) == ["s2"]
    await store.touch_session("s2", now=NOW + 20)
    assert await store.idle_sessions(NOW + 1, 10) == ["s1"]
    await store.touch_session("s2", now=NOW)  # activity never moves back
    assert await store.idle_sessions(NOW + 1, 10) == ["s1"]


async def test_due_deadlines_in_time_order(store: Store) -> None:
    await store.set_deadline("s1", "chat_idle", NOW + 30)
    await store.set_deadline("s2", "session_idle", NOW + 10)
    await store.set_deadline("s1", "token", NOW + 100)
    assert await store.due_deadlines(NOW + 5, 10) == []
    assert await store.due_deadlines(NOW + 30, 10) == [
        Deadline("s2", "session_idle", NOW + 10),
        Deadline("s1", "chat_idle", NOW + 30),
    ]


async def test_due_deadline_is_hidden_for_its_lease_then_returns(store: Store) -> None:
    await store.set_deadline("s1", "chat_idle", NOW)
    assert len(await store.due_deadlines(NOW, 10, lease=20)) == 1
    assert await store.due_deadlines(NOW + 19, 10) == []
    assert await store.due_deadlines(NOW + 20, 10, lease=20) == [Deadline("s1", "chat_idle", NOW)]


async def test_clear_with_at_keeps_a_moved_deadline(store: Store) -> None:
    await store.set_deadline("s1", "chat_idle", NOW)
    [due] = await store.due_deadlines(NOW, 10)
    await store.set_deadline("s1", "chat_idle", NOW + 600)  # a send moved it meanwhile
    await store.clear_deadline("s1", "chat_idle", at=due.at)
    assert await store.due_deadlines(NOW + 600, 10) == [Deadline("s1", "chat_idle", NOW + 600)]
    await store.clear_deadline("s1", "chat_idle")
    assert await store.due_deadlines(NOW + 10_000, 10) == []


async def test_two_sweepers_do_not_get_the_same_deadline(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    for i in range(30):
        await first.set_deadline(f"s{i}", "session_idle", NOW + i)
    results = await asyncio.gather(
        *((first if i % 2 else second).due_deadlines(NOW + 100, 5) for i in range(8))
    )
    fired = [(d.session_id, d.kind) for ds in results for d in ds]
    assert len(fired) == len(set(fired)) == 30
