"""The capacity scenario: N connector instances on Redis, each holding many idle bound
WebSockets, while AXP-shaped webhooks flow to a few customers with an accepted chat.

    .venv/bin/python -m benchmarks.capacity [--instances 3] [--idle 10000] [--chats 300]
        [--rate 300] [--seconds 10] [--budget 1800] [--out benchmarks/results/capacity.json]

Starts the emulator, a private redis-server and `--instances` connectors (as the benchmark does:
servers pinned to core 0, the generator to core 1), then one helper process per instance
(`benchmarks.idle_holder`) that opens `--idle` bound WebSockets to it (a guest login, no chat)
and keeps them open. Then `--chats` customers with an accepted chat, spread over the instances,
and a fixed rate of MESSAGES webhooks round-robin over the instances, each to one customer
(the push path of `suites.ConnectorRun`), for `--seconds`. Measures: idle clients open per
instance and the time to open them, RSS per instance and KB per idle connection, Redis
`used_memory` growth per idle session, per chat and over the rate, delivered/lost/duplicated
and push p50/p99/max, CPU seconds per 1,000 delivered events over the instances, Redis commands
and CPU per event, GC collections over 20 ms during the rate, and how many idle sockets closed.

Everything is bounded: `--budget` seconds of wall time for the whole run (spent: the run stops,
says in which phase, writes what it measured and exits 2); idle sockets still opening when the
opening share of it is spent are counted as not opened (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import probes, servers
from benchmarks.capacity_model import model_from
from benchmarks.loadgen import Tracker, run_rate
from benchmarks.report import progress
from benchmarks.run import machine, raise_open_files
from benchmarks.scenarios import close_all, quiet
from benchmarks.suites import ConnectorRun, open_customers

SETTLE_SECONDS = 2.0
"""Pause after opening, before RSS and Redis memory are read."""
HOLDER_STOP_SECONDS = 10.0
RATE_RESERVE_SECONDS = 120.0
"""Of the budget, kept back from opening idle sockets for the chats, the rate and the checks
(at most half of it)."""


@dataclass(frozen=True)
class Options:
    instances: int = 3
    idle: int = 10_000
    chats: int = 300
    rate: float = 300.0
    seconds: float = 10.0
    budget: float = 1800.0


class Holder:
    """One `benchmarks.idle_holder` process: the idle sockets of one instance."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, port: int, count: int, label: str, budget: float) -> Holder:
        argv = ["-m", "benchmarks.idle_holder", str(port), str(count), label, f"{budget:.0f}"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=servers.ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await self.proc.stdout.readline()
        if not raw:
            raise RuntimeError(f"idle holder {self.proc.pid} exited ({self.proc.returncode})")
        found: dict[str, Any] = json.loads(raw)
        return found

    async def ask(self, what: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{what}\n".encode())
        await self.proc.stdin.drain()
        return await self.line()

    async def stop(self) -> None:
        if self.proc.returncode is not None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), HOLDER_STOP_SECONDS)
        except (TimeoutError, OSError):
            self.proc.kill()
            await self.proc.wait()


def per_instance_rss(stack: servers.ConnectorStack) -> list[int]:
    return [servers.rss_kb(p.pid) for p in stack.instances]


async def open_idle(
    stack: servers.ConnectorStack, options: Options, holders: list[Holder], result: dict[str, Any]
) -> int:
    """Every instance's idle sockets, opened by its own holder; returns how many opened."""
    assert stack.redis is not None
    rss_before = per_instance_rss(stack)
    memory_before = probes.redis_used_memory(stack.redis.port)
    opening = max(options.budget - RATE_RESERVE_SECONDS, options.budget / 2)
    began = time.perf_counter()
    for i, port in enumerate(stack.ports):
        holders.append(await Holder.start(port, options.idle, f"idle{i}", opening))
    opened = await asyncio.gather(*(h.line() for h in holders))
    seconds = time.perf_counter() - began
    await asyncio.sleep(SETTLE_SECONDS)
    rss_after = per_instance_rss(stack)
    total = sum(int(o["opened"]) for o in opened)
    memory_growth = probes.redis_used_memory(stack.redis.port) - memory_before
    result["idle"] = {
        "per_instance": options.idle,
        "opened": total,
        "open_seconds": seconds,
        "complete": all(not o["timed_out"] and o["opened"] == options.idle for o in opened),
        "instances": [
            {
                **o,
                "rss_kb_before": before,
                "rss_kb_after": after,
                "kb_per_connection": (after - before) / o["opened"] if o["opened"] else None,
            }
            for o, before, after in zip(opened, rss_before, rss_after, strict=True)
        ],
        "redis_used_memory_growth": memory_growth,
        "redis_bytes_per_idle_session": memory_growth / total if total else None,
        "generator_kb_per_connection": (
            sum(o["rss_kb_growth"] for o in opened) / total if total else None
        ),
    }
    progress(f"  {total:,} idle sockets open in {seconds:.1f} s")
    return total


async def chats_and_rate(
    stack: servers.ConnectorStack, options: Options, result: dict[str, Any]
) -> None:
    """The customers with a chat, then the fixed rate with the server-side costs."""
    assert stack.redis is not None
    redis_port = stack.redis.port
    tracker = Tracker()
    memory_before = probes.redis_used_memory(redis_port)
    began = time.perf_counter()
    customers = await open_customers(stack, options.chats, tracker, "c")
    opened = time.perf_counter() - began
    memory_growth = probes.redis_used_memory(redis_port) - memory_before
    result["chats"] = {
        "opened": len(customers),
        "open_seconds": opened,
        "redis_used_memory_growth": memory_growth,
        "redis_bytes_per_chat": memory_growth / len(customers) if customers else None,
    }
    progress(f"  {len(customers)} customers with a chat in {opened:.1f} s")
    run = ConnectorRun(stack, {c.address: c.customer for c in customers})
    target = run.target("capacity", list(customers), tracker)
    try:
        result["phase"] = "rate"
        await quiet(target.pids)
        before = probes.snapshot(target.pids, redis_port)
        pauses = probes.gc_pauses(stack.ports)
        memory_before = probes.redis_used_memory(redis_port)
        rate = await run_rate(
            target.ports, target.pushes("capacity"), tracker, options.rate, options.seconds
        )
        after = probes.snapshot(target.pids, redis_port)
        memory_growth = probes.redis_used_memory(redis_port) - memory_before
        result["rate"] = {
            **rate.as_dict(),
            **probes.cost_per_event(before, after, rate.delivered),
            "gc": probes.pauses_between(pauses, probes.gc_pauses(stack.ports)),
            "redis_used_memory_growth": memory_growth,
            "redis_bytes_per_delivered_event": (
                memory_growth / rate.delivered if rate.delivered else None
            ),
        }
        progress(f"  {rate.brief()}")
    finally:
        await close_all(target.clients)


async def measure(
    stack: servers.ConnectorStack, options: Options, holders: list[Holder], result: dict[str, Any]
) -> None:
    result["phase"] = "idle"
    await open_idle(stack, options, holders, result)
    result["phase"] = "chats"
    await chats_and_rate(stack, options, result)
    result["phase"] = "check"
    checks = await asyncio.gather(*(h.ask("check") for h in holders))
    result["idle_at_end"] = {
        "open": sum(c["open"] for c in checks),
        "closed": sum(c["closed"] for c in checks),
        "pings": sum(c["pings"] for c in checks),
        "ping_failures": sum(c["ping_failures"] for c in checks),
        "instances": checks,
    }
    result["rss_kb_at_end"] = per_instance_rss(stack)
    result["phase"] = "done"


async def capacity(options: Options) -> dict[str, Any]:
    """The whole run within `options.budget` seconds; the stack and holders always stopped."""
    servers.pin_self()
    raise_open_files()  # the connectors inherit it: each holds `idle` sockets
    result: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "pinned": servers.pinning(),
            "argv": sys.argv[1:],
        },
        "options": asdict(options),
        "phase": "start",
    }
    holders: list[Holder] = []
    with tempfile.TemporaryDirectory(prefix="axp-capacity-") as tmp:
        progress(f"capacity: redis x {options.instances}")
        stack = servers.connector_stack("redis", options.instances, Path(tmp), Path(tmp))
        budget = asyncio.timeout(options.budget)
        try:
            async with budget:
                await measure(stack, options, holders, result)
        except TimeoutError:
            if not budget.expired():
                raise
            result["failed"] = (
                f"the wall-time budget of {options.budget:g} s was spent during the"
                f" {result['phase']!r} phase; figures of the earlier phases are kept"
            )
            progress(f"capacity: {result['failed']}")
        finally:
            await asyncio.gather(*(h.stop() for h in holders))
            stack.stop()
    result["model"] = model_from(result)
    return result


def summary(result: dict[str, Any]) -> str:
    """The figures as lines of text."""
    lines = [f"capacity run {result['meta']['date']}: {result['options']}"]
    if idle := result.get("idle"):
        lines.append(
            f"idle: {idle['opened']:,} open ({idle['per_instance']:,} asked per instance)"
            f" in {idle['open_seconds']:.1f} s; complete: {idle['complete']}"
        )
        for n, one in enumerate(idle["instances"]):
            kb = one["kb_per_connection"]
            lines.append(
                f"  instance {n}: {one['opened']:,} open ({one['failed']} failed) in"
                f" {one['seconds']:.1f} s, RSS {one['rss_kb_before'] / 1024:.0f} →"
                f" {one['rss_kb_after'] / 1024:.0f} MB, "
                + (f"{kb:.1f} KB per idle connection" if kb is not None else "—")
            )
        per_session = idle["redis_bytes_per_idle_session"]
        if per_session is not None:
            lines.append(f"  Redis: {per_session:,.0f} bytes per idle session (used_memory)")
        if idle["generator_kb_per_connection"] is not None:
            lines.append(f"  generator: {idle['generator_kb_per_connection']:.1f} KB per client")
    if chats := result.get("chats"):
        per_chat = chats["redis_bytes_per_chat"]
        lines.append(
            f"chats: {chats['opened']} with an accepted chat in {chats['open_seconds']:.1f} s"
            + (f"; Redis {per_chat:,.0f} bytes per chat" if per_chat is not None else "")
        )
    if rate := result.get("rate"):
        lines.append(
            f"rate @{rate['rate']:g}/s: delivered {rate['delivered']}/{rate['sent']},"
            f" lost {rate['lost']}, duplicated {rate['duplicated']};"
            f" p50 {rate['p50_ms']:.1f} / p99 {rate['p99_ms']:.1f} / max {rate['max_ms']:.1f} ms"
        )
        if "cpu_seconds_per_1000" in rate:
            lines.append(
                f"  CPU {rate['cpu_seconds_per_1000']:.2f} s per 1,000 events (all instances);"
                f" Redis {rate.get('redis_commands_per_event', float('nan')):.1f} commands,"
                f" {rate.get('redis_cpu_ms_per_event', float('nan')):.3f} ms CPU per event"
            )
        per_event = rate["redis_bytes_per_delivered_event"]
        lines.append(
            f"  GC collections over 20 ms: {rate['gc'].get('over_0.02', 0):g}"
            f" (of {rate['gc'].get('total', 0):g});"
            + (f" Redis +{per_event:,.0f} bytes per event" if per_event is not None else "")
        )
    if end := result.get("idle_at_end"):
        lines.append(
            f"idle at the end: {end['open']:,} open, {end['closed']} closed;"
            f" pings {end['pings'] - end['ping_failures']}/{end['pings']} answered"
        )
    lines += [f"model: {line}" for line in result.get("model", {}).get("lines", [])]
    if failed := result.get("failed"):
        lines.append(f"FAILED: {failed}")
    return "\n".join(lines)


def exit_code(result: dict[str, Any]) -> int:
    if "failed" in result:
        return 2
    incomplete = not result.get("idle", {}).get("complete", False)
    closed = result.get("idle_at_end", {}).get("closed", 0)
    return 1 if incomplete or closed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument("--instances", type=int, default=defaults.instances)
    parser.add_argument("--idle", type=int, default=defaults.idle, help="per instance")
    parser.add_argument("--chats", type=int, default=defaults.chats)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--budget", type=float, default=defaults.budget, help="wall-time limit")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/capacity.json"))
    args = parser.parse_args()
    options = Options(args.instances, args.idle, args.chats, args.rate, args.seconds, args.budget)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop every server
    result = asyncio.run(capacity(options))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(summary(result))
    print(f"JSON: {args.out}")
    sys.exit(exit_code(result))


if __name__ == "__main__":
    main()
