"""Session documents: create, compare-and-set, delete, restart survival."""

from __future__ import annotations

import asyncio

import pytest

from axp_chat_connector.store import ClaimState, Conflict, Store

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_create_then_get_returns_version_one(store: Store) -> None:
    assert await store.get_session("s1") is None
    assert await store.create_session("s1", {"state": "new", "n": [1]}, now=NOW) == 1
    assert await store.get_session("s1") == ({"state": "new", "n": [1]}, 1)


async def test_creating_an_existing_session_conflicts(store: Store) -> None:
    await store.create_session("s1", {"a": 1}, now=NOW)
    with pytest.raises(Conflict):
        await store.create_session("s1", {"a": 2}, now=NOW)
    assert await store.get_session("s1") == ({"a": 1}, 1)


async def test_update_with_a_stale_version_conflicts(store: Store) -> None:
    await store.create_session("s1", {"v": 1}, now=NOW)
    assert await store.update_session("s1", {"v": 2}, expected_version=1) == 2
    with pytest.raises(Conflict):
        await store.update_session("s1", {"v": "lost"}, expected_version=1)
    assert await store.get_session("s1") == ({"v": 2}, 2)
    with pytest.raises(Conflict):
        await store.update_session("missing", {}, expected_version=1)


async def test_concurrent_updates_from_two_instances_one_wins(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    await first.create_session("s1", {"v": 0}, now=NOW)

    async def update(store: Store, i: int) -> int | None:
        try:
            return await store.update_session("s1", {"v": i}, expected_version=1)
        except Conflict:
            return None

    results = await asyncio.gather(*(update(first if i % 2 else second, i) for i in range(20)))
    winners = [i for i, r in enumerate(results) if r == 2]
    assert len(winners) == 1
    assert results.count(None) == 19
    assert await second.get_session("s1") == ({"v": winners[0]}, 2)


async def test_delete_drops_log_commands_routes_timers(store: Store) -> None:
    await store.create_session("s1", {}, now=NOW)
    await store.append_events("s1", [{}, {}], now=NOW)
    await store.claim_command("s1", "c1", ttl=60)
    await store.complete_command("s1", "c2", {"ok": True}, ttl=60)
    await store.put_route("dialog", "d1", "s1")
    await store.put_route("correlation", "c1", "s1", ttl=600)
    await store.put_route("dialog", "d2", "other")
    await store.set_deadline("s1", "session_idle", NOW - 1)
    await store.delete_session("s1")
    await store.delete_session("s1")  # idempotent

    assert await store.get_session("s1") is None
    assert await store.read_events("s1", 0, 10) == []
    assert await store.last_seq("s1") == 0
    assert (await store.claim_command("s1", "c2", ttl=60)).state is ClaimState.NEW
    assert await store.get_route("dialog", "d1") is None
    assert await store.get_route("correlation", "c1") is None
    assert await store.get_route("dialog", "d2") == "other"
    assert await store.due_deadlines(NOW, 10) == []
    assert await store.idle_sessions(NOW + 10_000, 10) == []


async def test_everything_survives_close_and_reopen(backend: StoreBackend) -> None:
    store = await backend.open()
    await store.create_session("s1", {"k": "v"}, now=NOW)
    await store.update_session("s1", {"k": "w"}, expected_version=1)
    await store.append_events("s1", [{"a": 1}, {"a": 2}], now=NOW)
    await store.outbox_add("s1", "m1", "d1", {"text": "hi"}, now=NOW)
    await store.complete_command("s1", "c1", {"re": "c1"}, ttl=600)
    await store.put_route("dialog", "d1", "s1")
    await store.set_deadline("s1", "chat_idle", NOW + 5)
    await store.close()

    again = await backend.open()
    assert await again.get_session("s1") == ({"k": "w"}, 2)
    assert await again.read_events("s1", 0, 10) == [{"seq": 1, "a": 1}, {"seq": 2, "a": 2}]
    assert await again.append_events("s1", [{}], now=NOW) == [3]
    kept = await again.outbox_claim("w", now=NOW + 1, lease=5, limit=10)
    assert [i.item_id for i in kept] == ["m1"]
    claim = await again.claim_command("s1", "c1", ttl=60)
    assert claim.state is ClaimState.DONE
    assert claim.answer == {"re": "c1"}
    assert await again.get_route("dialog", "d1") == "s1"
    assert [d.kind for d in await again.due_deadlines(NOW + 5, 10)] == ["chat_idle"]


async def test_ping_answers(store: Store) -> None:
    await store.ping()
