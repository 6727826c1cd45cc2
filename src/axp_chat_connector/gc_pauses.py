"""Garbage-collector pauses, measured with a `gc.callbacks` hook.

CPython stops every coroutine while it collects; a long collection is a latency spike no
request metric explains. `GcPauses` times each collection (the "start" and "stop" callbacks)
and records it in a histogram by generation and in a gauge of the worst pause since start
(`axp_chat_gc_pause_max_seconds`: the benchmarks read it). `install()` adds the hook and
`uninstall()` removes it: `gc.callbacks` is the process's, and tests build many apps.
"""

from __future__ import annotations

import gc
import time
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, Histogram

PAUSE_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
GENERATIONS: Final = ("0", "1", "2")


class GcPauses:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pauses = Histogram(
            "axp_chat_gc_pause_seconds",
            "Garbage-collector pauses by generation (the whole process stops for each).",
            ["generation"],
            buckets=PAUSE_BUCKETS,
            registry=registry,
        )
        self.worst = Gauge(
            "axp_chat_gc_pause_max_seconds",
            "The longest garbage-collector pause since the process started.",
            registry=registry,
        )
        self._by_generation = [self.pauses.labels(g) for g in GENERATIONS]
        self._max = 0.0
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.record(info.get("generation", 2), time.perf_counter() - self._started)

    def record(self, generation: int, seconds: float) -> None:
        """One collection of `generation` that took `seconds`."""
        self._by_generation[min(max(generation, 0), 2)].observe(seconds)
        if seconds > self._max:
            self._max = seconds
            self.worst.set(seconds)
