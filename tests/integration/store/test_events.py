"""Event log contract: gapless atomic seqs, reads, trimming and retention."""

from __future__ import annotations

import asyncio

from axp_chat_connector.store import Retention, Store

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_first_appends_get_seqs_one_two_three(store: Store) -> None:
    assert await store.last_seq("s1") == 0
    assert await store.oldest_seq("s1") == 1
    assert await store.append_events("s1", [{"type": "a"}], now=NOW) == [1]
    assert await store.append_events("s1", [{"type": "b"}, {"type": "c"}], now=NOW) == [2, 3]
    assert await store.append_events("s1", [], now=NOW) == []
    assert await store.last_seq("s1") == 3
    assert await store.oldest_seq("s1") == 1


async def test_events_are_stored_with_their_seq_and_callers_dicts_untouched(store: Store) -> None:
    event = {"type": "message", "text": "héllo ✓", "nested": {"n": [1, 2.5, None, True]}}
    other = {"seq": 999, "type": "x"}
    await store.append_events("s1", [event, other, {}], now=NOW)
    assert event == {"type": "message", "text": "héllo ✓", "nested": {"n": [1, 2.5, None, True]}}
    assert other["seq"] == 999
    assert await store.read_events("s1", 0, 10) == [
        {"seq": 1, **event},
        {"seq": 2, "type": "x"},
        {"seq": 3},
    ]


async def test_read_events_after_and_limit_in_seq_order(store: Store) -> None:
    await store.append_events("s1", [{"i": i} for i in range(1, 11)], now=NOW)
    await store.append_events("s2", [{"i": 100}], now=NOW)
    assert [e["seq"] for e in await store.read_events("s1", 3, 4)] == [4, 5, 6, 7]
    assert [e["i"] for e in await store.read_events("s1", 8, 50)] == [9, 10]
    assert await store.read_events("s1", 10, 50) == []
    assert await store.read_events("s2", 0, 50) == [{"seq": 1, "i": 100}]
    assert await store.read_events("nobody", 0, 50) == []


async def test_fifty_concurrent_appenders_get_each_seq_exactly_once(
    backend: StoreBackend,
) -> None:
    # Two store instances on the same backing model two connector processes.
    first, second = await backend.open(), await backend.open()

    async def appender(i: int) -> list[int]:
        target = first if i % 2 else second
        return await target.append_events("s1", [{"by": i}, {"by": i}], now=NOW)

    results = await asyncio.gather(*(appender(i) for i in range(50)))
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, 101))
    for result in results:  # one call's events are consecutive
        assert result[1] == result[0] + 1
    events = await first.read_events("s1", 0, 1000)
    assert [e["seq"] for e in events] == list(range(1, 101))
    by_seq = {e["seq"]: e["by"] for e in events}
    for i, result in enumerate(results):
        assert [by_seq[s] for s in result] == [i, i]


async def test_trimmed_seqs_are_never_reused(store: Store) -> None:
    await store.append_events("s1", [{}, {}, {}], now=NOW)
    await store.trim_events("s1", 2)
    assert await store.oldest_seq("s1") == 3
    assert [e["seq"] for e in await store.read_events("s1", 0, 10)] == [3]
    await store.trim_events("s1", 3)
    assert await store.read_events("s1", 0, 10) == []
    assert await store.last_seq("s1") == 3
    assert await store.oldest_seq("s1") == 4
    assert await store.append_events("s1", [{}], now=NOW) == [4]
    await store.trim_events("s1", 1000)
    assert await store.append_events("s1", [{}], now=NOW) == [5]


async def test_retention_keeps_the_newest_count_events(backend: StoreBackend) -> None:
    store = await backend.open(Retention(count=5, age=3600))
    for _ in range(4):
        await store.append_events("s1", [{}, {}], now=NOW)
    assert await store.last_seq("s1") == 8
    assert await store.oldest_seq("s1") == 4
    assert [e["seq"] for e in await store.read_events("s1", 0, 100)] == [4, 5, 6, 7, 8]
    assert await store.append_events("s1", [{}] * 7, now=NOW) == list(range(9, 16))
    assert [e["seq"] for e in await store.read_events("s1", 0, 100)] == [11, 12, 13, 14, 15]


async def test_retention_drops_events_older_than_age_on_append(backend: StoreBackend) -> None:
    store = await backend.open(Retention(count=100, age=60))
    await store.append_events("s1", [{"t": 0}, {"t": 0}], now=NOW)
    await store.append_events("s1", [{"t": 30}], now=NOW + 30)
    await store.append_events("s1", [{"t": 61}], now=NOW + 61)
    assert [e["seq"] for e in await store.read_events("s1", 0, 10)] == [3, 4]
    assert await store.oldest_seq("s1") == 3
    await store.append_events("s1", [{"t": 500}], now=NOW + 500)
    assert [e["seq"] for e in await store.read_events("s1", 0, 10)] == [5]
    assert await store.oldest_seq("s1") == 5


async def test_sessions_have_separate_logs(store: Store) -> None:
    await store.append_events("a", [{}], now=NOW)
    assert await store.append_events("b", [{}, {}], now=NOW) == [1, 2]
    await store.trim_events("a", 1)
    assert await store.oldest_seq("b") == 1


async def test_one_large_append_is_one_gapless_batch(backend: StoreBackend) -> None:
    store = await backend.open(Retention(count=10_000, age=3600))
    await store.append_events("s1", [{}], now=NOW)
    seqs = await store.append_events("s1", [{"i": i} for i in range(5000)], now=NOW)
    assert seqs == list(range(2, 5002))
    events = await store.read_events("s1", 0, 10_000)
    assert [e["seq"] for e in events] == list(range(1, 5002))
    assert events[-1] == {"seq": 5001, "i": 4999}


async def test_append_with_a_dedupe_key_appends_once(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    results = await asyncio.gather(
        *(
            (first if i % 2 else second).append_events(
                "s1", [{"i": i}], now=NOW, dedupe_key="msg:m1", dedupe_ttl=600
            )
            for i in range(20)
        )
    )
    assert sorted(results) == [[]] * 19 + [[1]]
    assert len(await first.read_events("s1", 0, 100)) == 1
    assert await first.last_seq("s1") == 1
    assert await first.append_events("s1", [{}], now=NOW, dedupe_key="msg:m2") == [2]
