"""Append throughput and latency of each store backend, and the webhook's store path.

    .venv/bin/python benchmarks/store_append.py [--n 5000] [--concurrency 50] [--redis URL]

For each backend (SQLite file in a temp dir; Redis if it answers) it measures:
- `append seq`: one `append_events` at a time (latency p50/p99, appends/s);
- `append conc`: `concurrency` tasks appending to different sessions at once (appends/s);
- `webhook path`: what the webhook receiver does per event, each step awaited in turn:
  `get_route` + `append_events(dedupe_key=…)` + `bus.publish` (latency p50/p99, events/s).
Numbers depend on the machine; compare backends within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from axp_chat_connector.bus import Bus, open_bus
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store import Store, open_store

EVENT = {
    "type": "message",
    "at": "2026-01-01T00:00:00Z",
    "from": {"id": "agent-1", "type": "AGENT", "name": "Ann"},
    "elementType": "TEXT",
    "text": "Hello, how can I help you today?",
    "format": "PLAINTEXT",
    "index": 3,
}


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _append_sequential(store: Store, n: int) -> None:
    samples = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        await store.append_events(f"seq-{i % 100}", [EVENT], now=time.time())
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    print(
        f"  append seq    {n / elapsed:9.0f} appends/s   p50 {_pct(samples, 0.5):6.3f} ms"
        f"   p99 {_pct(samples, 0.99):6.3f} ms"
    )


async def _append_concurrent(store: Store, n: int, concurrency: int) -> None:
    per_task = n // concurrency

    async def worker(w: int) -> None:
        for _ in range(per_task):
            await store.append_events(f"conc-{w}", [EVENT], now=time.time())

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - start
    print(
        f"  append conc   {per_task * concurrency / elapsed:9.0f} appends/s   ({concurrency} tasks)"
    )


async def _webhook_path(store: Store, bus: Bus, n: int) -> None:
    for s in range(100):
        await store.put_route("dialog", f"d{s}", f"hook-{s}")
    samples = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        session_id = await store.get_route("dialog", f"d{i % 100}")
        assert session_id is not None
        seqs = await store.append_events(
            session_id, [EVENT], now=time.time(), dedupe_key=f"msg:{i}", dedupe_ttl=3600
        )
        if seqs:
            await bus.publish(session_id, seqs[-1])
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    print(
        f"  webhook path  {n / elapsed:9.0f} events/s    p50 {_pct(samples, 0.5):6.3f} ms"
        f"   p99 {_pct(samples, 0.99):6.3f} ms"
    )


async def _run(name: str, store_url: str, bus_url: str, n: int, concurrency: int) -> None:
    store = await open_store(store_url)
    bus = await open_bus(bus_url)
    try:
        print(f"{name}:")
        await _append_sequential(store, n)
        await _append_concurrent(store, n, concurrency)
        await _webhook_path(store, bus, n)
    finally:
        await bus.close()
        await store.close()


async def _cleanup_redis(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(f"{args.n} operations per measurement, event of {len(str(EVENT))} chars")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        await _run(
            "sqlite (WAL, synchronous=NORMAL)",
            f"sqlite://{path}",
            "local://",
            args.n,
            args.concurrency,
        )
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    url = f"{args.redis}?prefix={prefix}"
    try:
        await _run("redis", url, url, args.n, args.concurrency)
    except StoreUnavailable as exc:
        print(f"redis: skipped ({exc})")
    finally:
        await _cleanup_redis(args.redis, prefix)


if __name__ == "__main__":
    asyncio.run(main())
