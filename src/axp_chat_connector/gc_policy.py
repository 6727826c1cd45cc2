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
- `run()` every `freeze_every` seconds: a full collection, which visits only what is not frozen
  (what was allocated since the last step and lived: short), then `gc.freeze()` again: the
  connections alive that long join the permanent generation, so every collection, the ones
  that load triggers included, visits only what is newer.
  Frozen objects are still freed by reference counting when their connection closes; only
  reference cycles among them wait for the next step.
- every `full_every` seconds: `gc.unfreeze()`, one full collection over everything (the only
  long pause, at the interval's pace; 0: never), and freeze again.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class GcSchedule:
    freeze_every: float = 10.0
    """Seconds between two freezes of what is alive (0: freeze once, after start-up)."""
    full_every: float = 3600.0
    """Seconds between two full collections over the frozen objects too (0: never)."""


class GcPolicy:
    def __init__(self, schedule: GcSchedule, clock: Clock = time.monotonic) -> None:
        self.schedule = schedule
        self.clock = clock
        self._last_full = clock()
        self.freezes = 0
        self.full_collections = 0

    def settle(self) -> None:
        """After start-up: one full collection, then freeze what is left."""
        gc.collect()
        gc.freeze()
        self._last_full = self.clock()
        self.freezes += 1

    def tick(self) -> None:
        """One scheduled step: freeze what lived since the last one, or (every `full_every`)
        collect everything and freeze again."""
        full_every = self.schedule.full_every
        if full_every > 0 and self.clock() - self._last_full >= full_every:
            gc.unfreeze()
            gc.collect()
            self._last_full = self.clock()
            self.full_collections += 1
        else:
            gc.collect()  # the frozen objects are not visited
        gc.freeze()
        self.freezes += 1

    async def run(self) -> None:
        """`tick` every `freeze_every` seconds (returns at once when that is 0)."""
        every = self.schedule.freeze_every
        if every <= 0:
            return
        while True:
            await asyncio.sleep(every)
            self.tick()
