"""What the run reads from the servers from outside: CPU time of processes, Redis counters, and
the connector's worst GC pause gauge when it exports one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import redis

from benchmarks.servers import cpu_seconds

GC_GAUGE = "axp_chat_gc_pause_max_seconds"


@dataclass(frozen=True, slots=True)
class RedisCounters:
    commands: int
    cpu_seconds: float


def redis_counters(port: int) -> RedisCounters:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        stats = client.info("commandstats")
        cpu = client.info("cpu")
    finally:
        client.close()
    commands = sum(int(entry["calls"]) for entry in stats.values())
    return RedisCounters(commands, float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]))


@dataclass(frozen=True, slots=True)
class Snapshot:
    cpu_seconds: float
    redis: RedisCounters | None


def snapshot(pids: Sequence[int], redis_port: int | None) -> Snapshot:
    cpu = sum(cpu_seconds(pid) for pid in pids)
    return Snapshot(cpu, redis_counters(redis_port) if redis_port else None)


def cost_per_event(before: Snapshot, after: Snapshot, delivered: int) -> dict[str, float]:
    """CPU seconds per 1,000 delivered events summed over the instances; with Redis, its
    commands and CPU milliseconds per event (the INFO call of the probe itself excluded)."""
    if delivered == 0:
        return {}
    costs = {"cpu_seconds_per_1000": 1000 * (after.cpu_seconds - before.cpu_seconds) / delivered}
    if before.redis and after.redis:
        commands = after.redis.commands - before.redis.commands - 2  # the probe's own INFO
        costs["redis_commands_per_event"] = commands / delivered
        costs["redis_cpu_ms_per_event"] = (
            1000 * (after.redis.cpu_seconds - before.redis.cpu_seconds) / delivered
        )
    return costs


def _metrics(ports: Sequence[int]) -> list[str]:
    """The `/metrics` text of each instance that answers."""
    texts = []
    for port in ports:
        try:
            texts.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        except httpx.TransportError:
            continue
    return texts


def gc_pause_max(ports: Sequence[int]) -> float | None:
    """The worst `axp_chat_gc_pause_max_seconds` over the instances, if they export it."""
    worst: float | None = None
    for text in _metrics(ports):
        for line in text.splitlines():
            if line.startswith(GC_GAUGE):
                value = float(line.rsplit(" ", 1)[1])
                worst = value if worst is None else max(worst, value)
    return worst


GC_BUCKETS = "axp_chat_gc_pause_seconds_bucket"
PAUSE_BOUNDS = ("0.005", "0.02", "0.1")
"""Pause lengths (s, buckets of the connector's histogram) the run counts collections over."""


def gc_pauses(ports: Sequence[int]) -> dict[str, float]:
    """Collections so far summed over the instances: `total`, and `over_<bound>` for each
    bound of `PAUSE_BOUNDS` (the histogram's buckets are cumulative); the same per generation,
    prefixed `gen0:`, `gen1:`, `gen2:`. Subtract two readings
    (`pauses_between`) to count the collections of one window."""
    counts: dict[str, float] = {}
    for text in _metrics(ports):
        for line in text.splitlines():
            if not line.startswith(GC_BUCKETS):
                continue
            labels, _, value = line.partition("} ")
            bound = labels.split('le="', 1)[1].split('"', 1)[0]
            generation = labels.split('generation="', 1)[1].split('"', 1)[0]
            for key in (bound, f"gen{generation}:{bound}"):
                counts[key] = counts.get(key, 0.0) + float(value)
    found: dict[str, float] = {}
    for prefix in ("", "gen0:", "gen1:", "gen2:"):
        total = counts.get(f"{prefix}+Inf", 0.0)
        found[f"{prefix}total"] = total
        for bound in PAUSE_BOUNDS:
            found[f"{prefix}over_{bound}"] = total - counts.get(f"{prefix}{bound}", 0.0)
    return found


def pauses_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}


def redis_used_memory(port: int) -> int:
    """Redis's `used_memory` (bytes): everything it holds, client buffers included."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()
