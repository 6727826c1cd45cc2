"""The capacity model of BENCHMARKS.md ("Capacity"), computed from one capacity run's figures.

Instances = max(events/s ÷ (per-instance rate x headroom), connections ÷ connections per
instance); Redis shards from commands (and CPU) per event; Redis memory from bytes per session,
per chat and per kept event. Every assumption is a named constant below; a figure the run did
not measure leaves its term out (`None`) and the lines say so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from axp_chat_connector.store.base import DEDUPE_TTL

CUSTOMERS = 1_000_000
"""Connected customers, each with an open chat."""
MESSAGE_EVERY_SECONDS = 10.0
EVENTS_PER_SECOND = CUSTOMERS / MESSAGE_EVERY_SECONDS
HEADROOM = 0.6
"""Share of a measured ceiling planned for (an instance's rate, a shard's core, memory)."""
INSTANCE_MEMORY_MB = 2048
"""RSS one instance may use (its container's limit, assumed)."""
REDIS_COMMANDS_PER_SHARD = 100_000
"""Commands per second one Redis shard (one core) serves: an assumption, not measured here."""
EVENTS_KEPT_PER_CHAT = 100
"""Events kept per active chat (about a 15-minute chat at one message per 10 s, both sides)."""
REDIS_BYTES_PER_CHAT = 4373
REDIS_BYTES_PER_EVENT = 686
"""From `benchmarks/redis_memory.py` (200 chats x 50 messages, 2026-12-02): `MEMORY USAGE` of
an open chat's keys, and of one kept agent message with its dedupe key."""
INDEX_COMMANDS_PER_EVENT = 5
"""Commands per webhook event on the index hash tag (one slot, one shard on Redis Cluster),
counted with MONITOR (`benchmarks/index_commands.py`): dedupe mark EXISTS and SET, a deadline
script, ZADD and HSET."""
DEDUPE_MARK_BYTES = 120
"""`MEMORY USAGE` of one index dedupe mark; one per webhook event, kept `DEDUPE_TTL`."""
BENCH_JSON = Path(__file__).resolve().parent / "results" / "bench.json"


def per_instance_rate(bench: Path = BENCH_JSON) -> float | None:
    """The highest rate with p99 < 100 ms of "connector redis" (one instance, one core) in
    the last full benchmark run, if it found one."""
    if not bench.exists():
        return None
    for server in json.loads(bench.read_text()).get("servers", []):
        if server.get("server") == "connector redis" and "search" in server:
            best = float(server["search"]["best_rate"])
            return best if best > 0 else None
    return None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def model_from(result: dict[str, Any], rate: float | None = None) -> dict[str, Any]:
    """Instances, Redis shards and Redis memory for `CUSTOMERS` from a run's figures."""
    rate = rate if rate is not None else per_instance_rate()
    idle = result.get("idle", {})
    kb_each = _mean(
        [i["kb_per_connection"] for i in idle.get("instances", []) if i["kb_per_connection"]]
    )
    measured = result.get("rate", {})
    cpu_per_1000 = measured.get("cpu_seconds_per_1000")
    commands = measured.get("redis_commands_per_event")
    redis_cpu_ms = measured.get("redis_cpu_ms_per_event")
    per_session = idle.get("redis_bytes_per_idle_session")
    inputs = {
        "customers": CUSTOMERS,
        "events_per_second": EVENTS_PER_SECOND,
        "per_instance_rate": rate,
        "kb_per_idle_connection": kb_each,
        "cpu_seconds_per_1000": cpu_per_1000,
        "redis_commands_per_event": commands,
        "redis_cpu_ms_per_event": redis_cpu_ms,
        "redis_bytes_per_idle_session": per_session,
        "redis_bytes_per_chat": REDIS_BYTES_PER_CHAT,
        "redis_bytes_per_event": REDIS_BYTES_PER_EVENT,
        "events_kept_per_chat": EVENTS_KEPT_PER_CHAT,
    }
    found: dict[str, Any] = {"inputs": inputs}
    lines = [
        f"{CUSTOMERS:,} customers, one message per {MESSAGE_EVERY_SECONDS:g} s"
        f" = {EVENTS_PER_SECOND:,.0f} events/s"
    ]
    by_rate = math.ceil(EVENTS_PER_SECOND / (rate * HEADROOM)) if rate else None
    per_instance = (
        int(INSTANCE_MEMORY_MB * 1024 * HEADROOM / kb_each) if kb_each and kb_each > 0 else None
    )
    by_memory = math.ceil(CUSTOMERS / per_instance) if per_instance else None
    found["instances_by_rate"], found["instances_by_memory"] = by_rate, by_memory
    found["connections_per_instance"] = per_instance
    known = [n for n in (by_rate, by_memory) if n is not None]
    found["instances"] = max(known) if known else None
    lines.append(
        f"instances: {found['instances']} = max(by rate {by_rate} at {rate} events/s per"
        f" instance x {HEADROOM:.0%}, by memory {by_memory} at {per_instance} connections of"
        f" {kb_each and round(kb_each, 1)} KB in {INSTANCE_MEMORY_MB} MB x {HEADROOM:.0%})"
    )
    cores = math.ceil(EVENTS_PER_SECOND * cpu_per_1000 / 1000 / HEADROOM) if cpu_per_1000 else None
    found["cores_by_cpu"] = cores
    lines.append(
        f"cross-check: {cores} connector cores by CPU per event"
        f" ({cpu_per_1000 and round(cpu_per_1000, 2)} s per 1,000 events, cores at {HEADROOM:.0%})"
    )
    shards_commands = (
        math.ceil(commands * EVENTS_PER_SECOND / (REDIS_COMMANDS_PER_SHARD * HEADROOM))
        if commands
        else None
    )
    shards_cpu = (
        math.ceil(redis_cpu_ms * EVENTS_PER_SECOND / 1000 / HEADROOM) if redis_cpu_ms else None
    )
    found["shards_by_commands"], found["shards_by_cpu"] = shards_commands, shards_cpu
    lines.append(
        f"Redis shards: {shards_commands} by commands ({commands and round(commands, 1)} per"
        f" event, {REDIS_COMMANDS_PER_SHARD:,}/s per shard x {HEADROOM:.0%}),"
        f" {shards_cpu} by measured Redis CPU ({redis_cpu_ms and round(redis_cpu_ms, 3)} ms"
        " per event)"
    )
    index_rate = INDEX_COMMANDS_PER_EVENT * EVENTS_PER_SECOND
    found["index_slot_events_per_second_cap"] = (
        REDIS_COMMANDS_PER_SHARD * HEADROOM / INDEX_COMMANDS_PER_EVENT
    )
    lines.append(
        f"index slot (one shard whatever the count): {index_rate:,.0f} commands/s; it caps a"
        f" cluster at {found['index_slot_events_per_second_cap']:,.0f} events/s"
    )
    marks = EVENTS_PER_SECOND * DEDUPE_TTL * DEDUPE_MARK_BYTES
    found["index_dedupe_mark_bytes"] = marks
    lines.append(
        f"index dedupe marks: {marks / 1e9:,.0f} GB in one slot"
        f" ({EVENTS_PER_SECOND:,.0f}/s x {DEDUPE_TTL:,.0f} s x {DEDUPE_MARK_BYTES} B)"
    )
    memory = CUSTOMERS * (REDIS_BYTES_PER_CHAT + EVENTS_KEPT_PER_CHAT * REDIS_BYTES_PER_EVENT)
    found["redis_bytes"] = memory
    lines.append(
        f"Redis memory: {memory / 2**30:.1f} GiB = {CUSTOMERS:,} chats x ({REDIS_BYTES_PER_CHAT:,}"
        f" B + {EVENTS_KEPT_PER_CHAT} events x {REDIS_BYTES_PER_EVENT} B)"
        + (
            f"; idle sessions without a chat: {per_session:,.0f} B each (this run)"
            if per_session
            else ""
        )
    )
    found["lines"] = lines
    return found
