"""The collector's schedule (`gc_policy`): what each step freezes and when it collects all."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator

import pytest

from axp_chat_connector.gc_policy import GcPolicy, GcSchedule


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """The test process's objects go back to the collector afterwards."""
    yield
    gc.unfreeze()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_collects_garbage_then_freezes_what_lives() -> None:
    alive = Cycle()
    garbage = Cycle()
    del garbage
    policy = GcPolicy(GcSchedule(), Clock())
    policy.settle()
    assert gc.get_freeze_count() > 0
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())  # frozen or freed
    assert alive.me is alive
    assert policy.freezes == 1


def test_a_tick_frees_young_cycles_and_freezes_the_survivors() -> None:
    clock = Clock()
    policy = GcPolicy(GcSchedule(freeze_every=10, full_every=3600), clock)
    policy.settle()
    frozen = gc.get_freeze_count()
    kept = [Cycle() for _ in range(100)]
    for _ in range(100):
        Cycle()  # unreachable cycles: only a collection frees them
    policy.tick()
    assert gc.get_freeze_count() >= frozen + 100  # the kept ones (and their dicts) froze
    assert gc.get_freeze_count() < frozen + 100 * 3 + 50  # the garbage did not
    assert policy.full_collections == 0
    assert len(kept) == 100


def test_the_full_collection_comes_after_full_every_and_frees_frozen_cycles() -> None:
    clock = Clock()
    policy = GcPolicy(GcSchedule(freeze_every=10, full_every=60), clock)
    policy.settle()
    dropped = [Cycle() for _ in range(100)]
    policy.tick()  # they are frozen now, alive
    del dropped  # the list goes; the cycles stay: frozen, nobody collects them
    before = gc.get_freeze_count()
    clock.now += 59
    policy.tick()
    assert policy.full_collections == 0
    clock.now += 1
    policy.tick()
    assert policy.full_collections == 1
    assert gc.get_freeze_count() <= before - 100  # the frozen cycles were freed at last


def test_no_full_collection_when_it_is_off() -> None:
    clock = Clock()
    policy = GcPolicy(GcSchedule(freeze_every=10, full_every=0), clock)
    clock.now += 10**6
    policy.tick()
    assert policy.full_collections == 0


async def test_run_returns_at_once_when_freezing_is_off() -> None:
    policy = GcPolicy(GcSchedule(freeze_every=0))
    await asyncio.wait_for(policy.run(), timeout=1)
    assert policy.freezes == 0


class Heap:
    def __init__(self) -> None:
        self.blocks = 1000

    def __call__(self) -> int:
        return self.blocks


def test_a_full_collection_comes_when_the_heap_grew_too_much() -> None:
    heap = Heap()
    policy = GcPolicy(GcSchedule(freeze_every=10, full_every=0, grow_limit=1.5), Clock(), heap)
    policy.settle()
    heap.blocks = 1499
    policy.tick()
    assert policy.full_collections == 0
    heap.blocks = 1500
    assert policy.full_due()
    policy.tick()
    assert policy.full_collections == 1
    assert not policy.full_due()  # measured again after the collection: 1,500 is the base
    heap.blocks = 2249
    assert not policy.full_due()
    heap.blocks = 2250
    assert policy.full_due()


def test_the_real_heap_is_watched_without_walking_the_frozen_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def walks_every_frozen_object() -> int:
        raise AssertionError("the policy must not walk the permanent generation")

    monkeypatch.setattr(gc, "get_freeze_count", walks_every_frozen_object)
    policy = GcPolicy(GcSchedule(freeze_every=10, full_every=0, grow_limit=1.1), Clock())
    policy.settle()
    policy.tick()
    assert policy.full_collections == 0
    kept = [Cycle() for _ in range(sys.getallocatedblocks() // 5)]  # a block each: +20 %
    assert policy.full_due()
    policy.tick()
    assert policy.full_collections == 1
    assert not policy.full_due()
    assert len(kept) > 0
