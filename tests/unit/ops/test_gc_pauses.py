"""GC pauses: the `gc.callbacks` hook times real collections; the worst pause is a gauge."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry

from axp_chat_connector.gc_pauses import GcPauses


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_collection_is_timed_and_the_worst_pause_kept() -> None:
    registry = CollectorRegistry()
    pauses = GcPauses(registry)
    pauses.install()
    try:
        gc.collect()
    finally:
        pauses.uninstall()
    assert _sample(registry, "axp_chat_gc_pause_seconds_count", generation="2") >= 1
    assert _sample(registry, "axp_chat_gc_pause_max_seconds") > 0


def test_the_gauge_keeps_the_worst_pause_not_the_last() -> None:
    registry = CollectorRegistry()
    pauses = GcPauses(registry)
    pauses.record(0, 0.004)
    pauses.record(1, 0.001)
    assert _sample(registry, "axp_chat_gc_pause_max_seconds") == 0.004
    assert _sample(registry, "axp_chat_gc_pause_seconds_count", generation="0") == 1
    assert _sample(registry, "axp_chat_gc_pause_seconds_count", generation="1") == 1


def test_uninstall_removes_the_hook_and_install_adds_it_once() -> None:
    pauses = GcPauses(CollectorRegistry())
    before = len(gc.callbacks)
    pauses.install()
    pauses.install()
    assert len(gc.callbacks) == before + 1
    pauses.uninstall()
    assert len(gc.callbacks) == before


def test_the_hook_takes_no_metric_lock() -> None:
    """A collection may start while a metric holds its lock (prometheus' locks are not
    reentrant): the hook itself must not observe a metric, only the scrape does."""
    registry = CollectorRegistry()
    pauses = GcPauses(registry)
    lock = pauses._by_generation[2]._sum._lock  # the histogram's own lock
    with lock:  # held, as by a scrape in progress when a collection starts
        pauses._callback("start", {"generation": 2})
        pauses._callback("stop", {"generation": 2})
    assert _sample(registry, "axp_chat_gc_pause_seconds_count", generation="2") == 1
