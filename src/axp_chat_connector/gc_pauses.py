"""Garbage-collector pauses, measured with a `gc.callbacks` hook.

CPython stops every coroutine while it collects; a long collection is a latency spike no
request metric explains. `GcPauses` times each collection (the "start" and "stop" callbacks)
and records it in a histogram by generation and in a gauge of the worst pause since start
(`axp_chat_gc_pause_max_seconds`: the benchmarks read it). `install()` adds the hook and
`uninstall()` removes it: `gc.callbacks` is the process's, and tests build many apps.

The hook takes no lock: a collection can start in any thread, at any allocation, including one
made while a prometheus metric holds its (non-reentrant) lock, so observing a metric from the
hook could deadlock. The hook only appends to a deque and keeps the worst pause in a float;
the histogram is fed from the deque when the registry is scraped (`flush`, by a collector
registered ahead of the histogram), and the gauge reads the float then.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.metrics_core import Metric

PAUSE_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1)
GENERATIONS: Final = ("0", "1", "2")
PENDING_MAX: Final = 10_000
"""Pauses kept between two scrapes (older ones are dropped from the histogram, not the max)."""


class _FlushOnScrape:
    """A collector that yields nothing: it runs `flush` when the registry is scraped."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush

    def collect(self) -> Iterable[Metric]:
        self._flush()
        return []


class GcPauses:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._pending: deque[tuple[int, float]] = deque(maxlen=PENDING_MAX)
        registry.register(_FlushOnScrape(self.flush))
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
        self.worst.set_function(lambda: self._max)

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
        seconds = time.perf_counter() - self._started
        self._pending.append((info.get("generation", 2), seconds))
        self._max = max(self._max, seconds)

    def flush(self) -> None:
        """Move the pauses the hook measured into the histogram (not from the hook: see above)."""
        while self._pending:
            self.record(*self._pending.popleft())

    def record(self, generation: int, seconds: float) -> None:
        """One collection of `generation` that took `seconds`."""
        self._by_generation[min(max(generation, 0), 2)].observe(seconds)
        self._max = max(self._max, seconds)
