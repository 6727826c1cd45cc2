"""`update_session_and_append`: compare-and-set the document and append to the log, atomically."""

from __future__ import annotations

import asyncio

import pytest

from axp_chat_connector.store import JSON, Conflict, Retention, Store

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_update_and_append_happen_together(store: Store) -> None:
    await store.create_session("s1", {"state": "new"}, now=NOW)
    assert await store.append_events("s1", [{"type": "before"}], now=NOW) == [1]
    events: list[JSON] = [{"type": "a", "n": [1, None]}, {"seq": 999, "type": "b"}, {}]

    result = await store.update_session_and_append(
        "s1", {"state": "open"}, expected_version=1, events=events, now=NOW + 1
    )

    assert result == (2, [2, 3, 4])
    assert events == [{"type": "a", "n": [1, None]}, {"seq": 999, "type": "b"}, {}]
    assert await store.get_session("s1") == ({"state": "open"}, 2)
    assert await store.read_events("s1", 0, 10) == [
        {"seq": 1, "type": "before"},
        {"seq": 2, "type": "a", "n": [1, None]},
        {"seq": 3, "type": "b"},
        {"seq": 4},
    ]
    assert await store.last_seq("s1") == 4
    # Versions and seqs continue with the other methods.
    assert await store.update_session("s1", {"state": "x"}, expected_version=2) == 3
    assert await store.append_events("s1", [{}], now=NOW + 2) == [5]
    assert await store.update_session_and_append(
        "s1", {"state": "y"}, expected_version=3, events=[{"type": "c"}], now=NOW + 3
    ) == (4, [6])


async def test_a_conflict_appends_nothing_and_keeps_the_seq_counter(
    backend: StoreBackend,
) -> None:
    # Short retention: a conflicting call far in the future must not even enforce it.
    store = await backend.open(Retention(count=2, age=60))
    await store.create_session("s1", {"v": 1}, now=NOW)
    await store.append_events("s1", [{"i": 1}, {"i": 2}], now=NOW)
    assert await store.update_session("s1", {"v": 2}, expected_version=1) == 2

    with pytest.raises(Conflict):
        await store.update_session_and_append(
            "s1", {"v": "lost"}, expected_version=1, events=[{"i": 3}] * 3, now=NOW + 1000
        )

    assert await store.get_session("s1") == ({"v": 2}, 2)
    assert await store.read_events("s1", 0, 10) == [{"seq": 1, "i": 1}, {"seq": 2, "i": 2}]
    assert await store.last_seq("s1") == 2
    assert await store.oldest_seq("s1") == 1
    assert await store.append_events("s1", [{"i": 4}], now=NOW) == [3]


async def test_a_missing_or_deleted_session_conflicts_and_gets_no_log(store: Store) -> None:
    with pytest.raises(Conflict):
        await store.update_session_and_append(
            "missing", {}, expected_version=1, events=[{}], now=NOW
        )
    assert await store.get_session("missing") is None
    assert await store.last_seq("missing") == 0
    assert await store.read_events("missing", 0, 10) == []

    await store.create_session("s1", {}, now=NOW)
    await store.delete_session("s1")
    with pytest.raises(Conflict):
        await store.update_session_and_append("s1", {}, expected_version=1, events=[{}], now=NOW)
    assert await store.get_session("s1") is None
    assert await store.last_seq("s1") == 0


async def test_no_events_just_updates(store: Store) -> None:
    await store.create_session("s1", {"v": 1}, now=NOW)
    assert await store.update_session_and_append(
        "s1", {"v": 2}, expected_version=1, events=[], now=NOW
    ) == (2, [])
    assert await store.get_session("s1") == ({"v": 2}, 2)
    assert await store.last_seq("s1") == 0
    assert await store.oldest_seq("s1") == 1
    assert await store.read_events("s1", 0, 10) == []

    await store.append_events("s1", [{"i": 1}], now=NOW)
    assert await store.update_session_and_append(
        "s1", {"v": 3}, expected_version=2, events=[], now=NOW
    ) == (3, [])
    assert await store.read_events("s1", 0, 10) == [{"seq": 1, "i": 1}]
    assert await store.last_seq("s1") == 1
    with pytest.raises(Conflict):
        await store.update_session_and_append("s1", {}, expected_version=2, events=[], now=NOW)
    assert await store.get_session("s1") == ({"v": 3}, 3)


async def test_concurrent_calls_from_two_instances_one_wins_with_only_its_events(
    backend: StoreBackend,
) -> None:
    # Two store instances on the same backing model two connector processes.
    first, second = await backend.open(), await backend.open()
    await first.create_session("s1", {"by": None}, now=NOW)
    await first.append_events("s1", [{"by": "earlier"}], now=NOW)

    async def attempt(i: int) -> tuple[int, list[int]] | None:
        target = first if i % 2 else second
        try:
            return await target.update_session_and_append(
                "s1", {"by": i}, expected_version=1, events=[{"by": i}, {"by": i}], now=NOW
            )
        except Conflict:
            return None

    results = await asyncio.gather(*(attempt(i) for i in range(20)))

    winners = [i for i, result in enumerate(results) if result is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert results[winner] == (2, [2, 3])
    assert await second.get_session("s1") == ({"by": winner}, 2)
    assert await second.read_events("s1", 0, 100) == [
        {"seq": 1, "by": "earlier"},
        {"seq": 2, "by": winner},
        {"seq": 3, "by": winner},
    ]
    assert await first.last_seq("s1") == 3
    assert await second.append_events("s1", [{}], now=NOW) == [4]


async def test_retention_keeps_the_newest_count_events(backend: StoreBackend) -> None:
    store = await backend.open(Retention(count=3, age=3600))
    await store.create_session("s1", {}, now=NOW)
    await store.append_events("s1", [{}, {}], now=NOW)
    assert await store.update_session_and_append(
        "s1", {"n": 1}, expected_version=1, events=[{}, {}], now=NOW
    ) == (2, [3, 4])
    assert [e["seq"] for e in await store.read_events("s1", 0, 100)] == [2, 3, 4]
    assert await store.oldest_seq("s1") == 2
    assert await store.update_session_and_append(
        "s1", {"n": 2}, expected_version=2, events=[{}] * 5, now=NOW
    ) == (3, [5, 6, 7, 8, 9])
    assert [e["seq"] for e in await store.read_events("s1", 0, 100)] == [7, 8, 9]
    assert await store.last_seq("s1") == 9


async def test_retention_drops_events_older_than_age(backend: StoreBackend) -> None:
    store = await backend.open(Retention(count=100, age=60))
    await store.create_session("s1", {}, now=NOW)
    await store.append_events("s1", [{"t": 0}, {"t": 0}], now=NOW)
    await store.append_events("s1", [{"t": 30}], now=NOW + 30)
    assert await store.update_session_and_append(
        "s1", {"n": 1}, expected_version=1, events=[{"t": 61}], now=NOW + 61
    ) == (2, [4])
    assert await store.read_events("s1", 0, 10) == [{"seq": 3, "t": 30}, {"seq": 4, "t": 61}]
    assert await store.oldest_seq("s1") == 3
    # Events written by update_session_and_append age like any others.
    await store.append_events("s1", [{"t": 500}], now=NOW + 500)
    assert await store.read_events("s1", 0, 10) == [{"seq": 5, "t": 500}]


async def test_a_dedupe_key_is_marked_with_the_write_and_refuses_the_second(store: Store) -> None:
    await store.create_session("s1", {"state": "new"}, now=NOW)

    first = await store.update_session_and_append(
        "s1", {"n": 1}, expected_version=1, events=[{"t": "a"}], now=NOW, dedupe_key="k"
    )
    again = await store.update_session_and_append(
        "s1", {"n": 2}, expected_version=2, events=[{"t": "b"}], now=NOW, dedupe_key="k"
    )

    assert first == (2, [1])
    assert again is None  # a duplicate: nothing written, the version still 2
    assert await store.get_session("s1") == ({"n": 1}, 2)
    assert await store.read_events("s1", 0, 10) == [{"seq": 1, "t": "a"}]
    # the same key space as append_events and park_event
    assert await store.append_events("s1", [{}], now=NOW, dedupe_key="k") == []
    assert not await store.park_event([("dialog", "d")], {}, ttl=60, now=NOW, dedupe_key="k")


async def test_a_conflict_leaves_the_dedupe_key_unmarked(store: Store) -> None:
    await store.create_session("s1", {"state": "new"}, now=NOW)

    with pytest.raises(Conflict):
        await store.update_session_and_append(
            "s1", {"n": 1}, expected_version=7, events=[{"t": "a"}], now=NOW, dedupe_key="k"
        )

    assert await store.last_seq("s1") == 0
    retried = await store.update_session_and_append(
        "s1", {"n": 1}, expected_version=1, events=[{"t": "a"}], now=NOW, dedupe_key="k"
    )
    assert retried == (2, [1])
