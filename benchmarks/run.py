"""The side-by-side benchmark: every server started here, one table, one JSON file, plots.

    .venv/bin/python -m benchmarks.run [--smoke] [--out DIR] [--only NAME,...]

Servers: bare Starlette/uvicorn (WS), python-socketio (WS), node socket.io 4 (WS and long
polling; `npm ci` into benchmarks/node when its node_modules are missing), and the connector
with the AXP emulator on SQLite and on Redis (1, 2 and 3 instances on one private
redis-server). Each server runs pinned to core 0, the load generator (this process) and the
emulator to core 1. Everything talks to 127.0.0.1 only. `--smoke`: a few clients, one low rate,
SQLite and the bare peer only (and node if its node_modules are present), well under a minute.
Writes DIR/bench.json, DIR/latency.png and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import report, servers
from benchmarks.clients import open_bare, open_socketio_polling, open_socketio_ws
from benchmarks.loadgen import generator_ceiling
from benchmarks.suites import Opener, Plan, connector_suite, peer_suite

FULL = Plan(
    clients=1000,
    rates=(500, 2000),
    poll_rates=(500,),
    seconds=4.0,
    search=True,
    search_start=250,
    idle_counts=(1000, 5000, 10000),
    idle_budget=180.0,
    send_clients=20,
    send_rate=50,
    send_seconds=4.0,
    scale_rate=200,
    redis_instances=(1, 2, 3),
    ceiling_seconds=2.0,
)
SMOKE = Plan(
    clients=4,
    rates=(20,),
    poll_rates=(20,),
    seconds=1.5,
    search=False,
    search_start=20,
    idle_counts=(20,),
    idle_budget=20.0,
    send_clients=2,
    send_rate=5,
    send_seconds=1.0,
    scale_rate=20,
    redis_instances=(),
    ceiling_seconds=0.5,
)
EVERY = ("bare", "python-socketio", "node", "sqlite", "redis")


def progress(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def raise_open_files() -> None:
    """10,000 idle connections need more than the usual 1,024 descriptors on each side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    node = "none"
    if servers.node_ready():
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, node {node}, load average at start {load}"
    )


async def peers(plan: Plan, only: set[str], logs: Path, ceiling: float, smoke: bool) -> list[Any]:
    results = []
    runs: list[tuple[str, str, str, Opener]] = []
    if "bare" in only:
        runs.append(("bare starlette", "ws", "bare", open_bare))
    if "python-socketio" in only and not smoke:
        runs.append(("python-socketio", "ws", "pysocketio", open_socketio_ws))
    node = "node" in only and (servers.node_ready() if smoke else servers.node_install())
    if node:
        runs.append(("node socket.io", "ws", "node", open_socketio_ws))
        runs.append(("node socket.io", "polling", "node", open_socketio_polling))
    for name, transport, module, opener in runs:
        progress(f"{name} ({transport})")
        process = servers.node_peer(logs) if module == "node" else servers.python_peer(module, logs)
        with servers.running(process):
            results.append(await peer_suite(name, transport, process, opener, plan, ceiling))
    return results


async def connectors(
    plan: Plan, only: set[str], logs: Path, data: Path, ceiling: float
) -> list[Any]:
    layouts = [("sqlite", 1)] if "sqlite" in only else []
    if "redis" in only:
        layouts += [("redis", n) for n in plan.redis_instances]
    results: list[Any] = []
    for store, instances in layouts:
        progress(f"connector {store} x {instances}")
        try:
            stack = servers.connector_stack(store, instances, logs, data)
        except RuntimeError as exc:
            results.append({"server": f"connector {store}", "transport": "ws", "note": str(exc)})
            continue
        try:
            results += await connector_suite(stack, plan, ceiling)
        finally:
            stack.stop()
    return results


async def run(plan: Plan, only: set[str], out: Path, smoke: bool) -> dict[str, Any]:
    servers.pin_self()
    raise_open_files()
    with tempfile.TemporaryDirectory(prefix="axp-bench-") as tmp:
        logs = data = Path(tmp)
        null = servers.python_peer("null", logs)
        with servers.running(null):
            ceiling = await generator_ceiling(null.port, plan.ceiling_seconds)
        progress(f"load generator ceiling: {ceiling:,.0f} POSTs/s")
        results = await peers(plan, only, logs, ceiling, smoke)
        results += await connectors(plan, only, logs, data, ceiling)
    lost, duplicated = report.totals(results)
    return {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "pinned": servers.pinning(),
            "smoke": smoke,
            "argv": sys.argv[1:],
        },
        "plan": {**plan.__dict__},
        "generator_ceiling": ceiling,
        "servers": results,
        "lost": lost,
        "duplicated": duplicated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run, well under a minute")
    parser.add_argument(
        "--out", type=Path, help="default: benchmarks/results (smoke: test-artifacts/bench-smoke)"
    )
    parser.add_argument("--only", default=",".join(EVERY), help=f"a subset of {','.join(EVERY)}")
    args = parser.parse_args()
    plan = SMOKE if args.smoke else FULL
    default_out = "test-artifacts/bench-smoke" if args.smoke else "benchmarks/results"
    out: Path = args.out or Path(default_out)
    only = set(args.only.split(",")) - ({"redis", "python-socketio"} if args.smoke else set())
    out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(plan, only, out, args.smoke))
    (out / "bench.json").write_text(json.dumps(result, indent=1) + "\n")
    plotted = report.plot(result, out / "latency.png")
    print(report.text(result))
    print(f"JSON: {out / 'bench.json'}" + (f", plot: {plotted}" if plotted else ""))


if __name__ == "__main__":
    main()
