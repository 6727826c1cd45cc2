"""Parked webhook events: taken by any of their route keys, or expired."""

from __future__ import annotations

from axp_chat_connector.store import Store

NOW = 1_800_000_000.0


async def test_take_parked_returns_oldest_first_and_removes_from_all_keys(store: Store) -> None:
    keys = [("dialog", "d1"), ("correlation", "c1")]
    await store.park_event(keys, {"n": 1}, ttl=60, now=NOW)
    await store.park_event(keys, {"n": 2}, ttl=60, now=NOW + 1)
    await store.park_event([("dialog", "d2")], {"n": 3}, ttl=60, now=NOW + 2)
    await store.park_event([("correlation", "c1")], {"n": 4}, ttl=60, now=NOW + 3)

    assert await store.take_parked("dialog", "d1") == [{"n": 1}, {"n": 2}]
    assert await store.take_parked("dialog", "d1") == []
    assert await store.take_parked("correlation", "c1") == [{"n": 4}]
    assert await store.take_parked("dialog", "d2") == [{"n": 3}]
    assert await store.expired_parked(NOW + 10_000, 100) == []


async def test_expired_parked_are_removed_and_returned_once(store: Store) -> None:
    await store.park_event([("dialog", "d1")], {"n": 1}, ttl=60, now=NOW)
    await store.park_event([("dialog", "d1"), ("axp_session", "a")], {"n": 2}, ttl=60, now=NOW + 5)
    await store.park_event([("dialog", "d9")], {"n": 3}, ttl=60, now=NOW + 50)

    assert await store.expired_parked(NOW + 59, 10) == []
    assert await store.expired_parked(NOW + 70, 1) == [{"n": 1}]
    assert await store.expired_parked(NOW + 70, 10) == [{"n": 2}]
    assert await store.expired_parked(NOW + 70, 10) == []
    assert await store.take_parked("axp_session", "a") == []
    assert await store.take_parked("dialog", "d9") == [{"n": 3}]


async def test_park_with_a_dedupe_key_parks_once_and_marks_the_key(store: Store) -> None:
    keys = [("dialog", "d1")]
    assert await store.park_event(keys, {"n": 1}, ttl=60, now=NOW, dedupe_key="m1") is True
    assert await store.park_event(keys, {"n": 1}, ttl=60, now=NOW, dedupe_key="m1") is False
    assert await store.park_event(keys, {"n": 2}, ttl=60, now=NOW) is True
    assert await store.take_parked("dialog", "d1") == [{"n": 1}, {"n": 2}]
    assert await store.append_events("s1", [{"n": 1}], now=NOW, dedupe_key="m1") == []
