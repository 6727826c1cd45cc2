"""Outbox: in order per dialog, one owner per dialog at a time, surviving failures."""

from __future__ import annotations

import asyncio

from axp_chat_connector.store import Store

from .conftest import StoreBackend

_YIELD = 0  # one turn of the event loop

NOW = 1_800_000_000.0


async def _add(store: Store, *items: tuple[str, str, str]) -> None:
    for n, (session_id, item_id, dialog) in enumerate(items):
        await store.outbox_add(session_id, item_id, dialog, {"id": item_id}, now=NOW + n)


async def test_claim_gives_the_oldest_item_of_each_dialog(store: Store) -> None:
    await _add(store, ("s1", "a1", "d1"), ("s1", "a2", "d1"), ("s2", "b1", "d2"))
    claimed = await store.outbox_claim("w1", now=NOW + 10, lease=30, limit=10)
    assert [i.item_id for i in claimed] == ["a1", "b1"]
    first = claimed[0]
    assert (first.session_id, first.dialog_key, first.payload) == ("s1", "d1", {"id": "a1"})
    assert (first.attempts, first.created_at, first.not_before) == (0, NOW, NOW)
    assert (first.lease_owner, first.lease_until) == ("w1", NOW + 40)
    # Leased heads block their dialogs.
    assert await store.outbox_claim("w2", now=NOW + 11, lease=30, limit=10) == []
    await store.outbox_done("a1")
    assert [
        i.item_id for i in await store.outbox_claim("w2", now=NOW + 12, lease=30, limit=10)
    ] == ["a2"]
    assert await store.outbox_depth() == 2


async def test_limit_counts_dialogs(store: Store) -> None:
    await _add(store, ("s1", "a", "d1"), ("s1", "b", "d2"), ("s1", "c", "d3"))
    assert [i.item_id for i in await store.outbox_claim("w", now=NOW + 5, lease=9, limit=2)] == [
        "a",
        "b",
    ]
    assert [i.item_id for i in await store.outbox_claim("w", now=NOW + 5, lease=9, limit=2)] == [
        "c"
    ]


async def test_retry_waits_for_not_before_and_keeps_later_items_behind(store: Store) -> None:
    await _add(store, ("s1", "a1", "d1"), ("s1", "a2", "d1"))
    assert await store.outbox_claim("w1", now=NOW + 5, lease=30, limit=10) != []
    await store.outbox_retry("a1", not_before=NOW + 100, attempts=1, last_error="timeout")
    assert await store.outbox_claim("w1", now=NOW + 99, lease=30, limit=10) == []
    [again] = await store.outbox_claim("w2", now=NOW + 100, lease=30, limit=10)
    assert (again.item_id, again.attempts, again.last_error) == ("a1", 1, "timeout")
    assert again.lease_owner == "w2"


async def test_expired_lease_lets_another_owner_take_over(store: Store) -> None:
    await _add(store, ("s1", "a1", "d1"))
    assert len(await store.outbox_claim("w1", now=NOW + 1, lease=30, limit=10)) == 1
    assert await store.outbox_claim("w2", now=NOW + 30, lease=30, limit=10) == []
    [item] = await store.outbox_claim("w2", now=NOW + 31, lease=30, limit=10)
    assert item.lease_owner == "w2"
    assert item.taken_over, "w1 may have sent it: the new owner must settle it first"


async def test_an_item_released_or_new_is_not_taken_over(store: Store) -> None:
    await _add(store, ("s1", "a1", "d1"))
    [first] = await store.outbox_claim("w1", now=NOW + 1, lease=30, limit=10)
    assert not first.taken_over
    await store.outbox_retry("a1", not_before=NOW + 2, attempts=1, last_error="timeout")
    [again] = await store.outbox_claim("w2", now=NOW + 2, lease=30, limit=10)
    assert not again.taken_over


async def test_two_owners_never_hold_the_same_dialog(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    for d in range(10):
        for m in range(3):
            await first.outbox_add("s", f"d{d}-m{m}", f"d{d}", {}, now=NOW + m)
    delivered: list[str] = []

    async def worker(store: Store, owner: str) -> None:
        while len(delivered) < 30:
            items = await store.outbox_claim(owner, now=NOW + 10, lease=60, limit=3)
            for item in items:
                delivered.append(item.item_id)
                await store.outbox_done(item.item_id)
            await asyncio.sleep(_YIELD)

    await asyncio.wait_for(asyncio.gather(worker(first, "w1"), worker(second, "w2")), timeout=20)
    assert sorted(delivered) == sorted(f"d{d}-m{m}" for d in range(10) for m in range(3))
    for d in range(10):  # per-dialog order held
        assert [x for x in delivered if x.startswith(f"d{d}-")] == [
            f"d{d}-m0",
            f"d{d}-m1",
            f"d{d}-m2",
        ]
    assert await second.outbox_depth() == 0


async def test_concurrent_claims_lease_each_head_once(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    for d in range(20):
        await first.outbox_add("s", f"m{d}", f"d{d}", {}, now=NOW)
    results = await asyncio.gather(
        *(
            (first if i % 2 else second).outbox_claim(f"w{i}", now=NOW + 1, lease=60, limit=4)
            for i in range(10)
        )
    )
    claimed = [item.item_id for items in results for item in items]
    assert sorted(claimed) == sorted(f"m{d}" for d in range(20))


async def test_add_is_idempotent_and_done_twice_is_harmless(store: Store) -> None:
    await _add(store, ("s1", "a1", "d1"), ("s2", "b1", "d2"), ("s1", "a2", "d1"))
    await store.outbox_add("s1", "a1", "d1", {"id": "changed"}, now=NOW + 50)
    assert await store.outbox_depth() == 3
    claimed = await store.outbox_claim("w", now=NOW + 60, lease=5, limit=10)
    assert [(i.item_id, i.payload) for i in claimed] == [("a1", {"id": "a1"}), ("b1", {"id": "b1"})]
    await store.outbox_done("a1")
    await store.outbox_done("a1")
    assert await store.outbox_depth() == 2
    claimed = await store.outbox_claim("w", now=NOW + 70, lease=5, limit=10)
    assert sorted(i.item_id for i in claimed) == ["a2", "b1"]
