"""When the garbage collector may stop the process: often for young objects, never for the whole
heap while clients are being served.

A full (generation 2) collection visits every tracked object the process holds and stops
every coroutine meanwhile. The benchmark (BENCHMARKS.md, "Garbage collection") measured a
connector with 1,000 connected customers holding ~80,000 tracked objects besides its start-up
state (~77 per connection: the socket's transport, protocol, wsproto state, task, timers) and a
full collection of them taking 30 to 90 ms; more connections, longer pauses. Young collections
(generations 0 and 1) visit only what was allocated lately and stay short.

`GcPolicy` keeps the long-lived objects out of the full collections:
- `settle()` after start-up: collect once, then `gc.freeze()`. Modules, models and settings go
  to the permanent generation, which no collection visits.
- `tick()` every `freeze_every` seconds: a young collection (generations 0 and 1: short; the
  cyclic garbage of lately is freed), then `gc.freeze()`: what lived that long (the
  connections) joins the permanent generation, so the full collections that load triggers
  visit only what is newer. Frozen objects are still freed by reference counting when their
  connection closes; reference cycles among them are not, until the next full collection.
- A full collection over everything (`gc.unfreeze()`, collect, freeze again: the one long
  pause) when the process's heap (`sys.getallocatedblocks()`, the memory blocks Python holds)
  has grown to `grow_limit` times its size after the last one (what was frozen since may be
  garbage held by cycles: this bounds it), or every `full_every` seconds (0: only by growth).
  The heap is what is watched, not the frozen objects: `gc.get_freeze_count()` walks the
  whole permanent generation (~11 ms per million objects, every tick), while the heap's
  size costs a walk over its arenas (~0.3 ms at the same size).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Heap = Callable[[], int]
"""The size of the process's heap, in any unit that grows with it."""


@dataclass(frozen=True, slots=True)
class GcSchedule:
    freeze_every: float = 10.0
    """Seconds between two freezes of what is alive (0: freeze once, after start-up)."""
    full_every: float = 3600.0
    """Seconds between two full collections over the frozen objects too (0: only by growth)."""
    grow_limit: float = 2.0
    """A full collection when the heap grew to this many times its size after the last one."""


class GcPolicy:
    def __init__(
        self,
        schedule: GcSchedule,
        clock: Clock = time.monotonic,
        heap: Heap = sys.getallocatedblocks,
    ) -> None:
        self.schedule = schedule
        self.clock = clock
        self.heap = heap
        self._last_full = clock()
        self._heap_after_full = heap()
        self.freezes = 0
        self.full_collections = 0

    def settle(self) -> None:
        """After start-up: one full collection, then freeze what is left."""
        gc.collect()
        gc.freeze()
        self._last_full = self.clock()
        self._heap_after_full = self.heap()
        self.freezes += 1

    def tick(self) -> None:
        """One scheduled step: freeze what lived since the last one, or collect everything
        and freeze again (`full_due`)."""
        if self.full_due():
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._last_full = self.clock()
            self._heap_after_full = self.heap()
            self.full_collections += 1
        else:
            gc.collect(1)  # young generations only: the frozen and the old are not visited
            gc.freeze()
        self.freezes += 1

    def full_due(self) -> bool:
        schedule = self.schedule
        if schedule.full_every > 0 and self.clock() - self._last_full >= schedule.full_every:
            return True
        return self.heap() >= schedule.grow_limit * max(self._heap_after_full, 1)

    async def run(self) -> None:
        """`tick` every `freeze_every` seconds (returns at once when that is 0)."""
        every = self.schedule.freeze_every
        if every <= 0:
            return
        while True:
            await asyncio.sleep(every)
            self.tick()
